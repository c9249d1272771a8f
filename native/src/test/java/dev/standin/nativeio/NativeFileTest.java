package dev.standin.nativeio;

import static dev.standin.nativeio.TestFiles.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NativeFile on regular files in the build machine's temp directory; needs no root. */
class NativeFileTest {

    private final NativeIo io = NativeIo.load();

    @TempDir
    Path dir;

    @Test
    void regularFileBasics() throws Exception {
        Path file = dir.resolve("data");
        TestFiles.write(file, 0, TestFiles.randomBytes(MIB + 17, 1));
        try (NativeFile f = io.open(file, false)) {
            assertFalse(f.isBlockDevice());
            assertTrue(f.fd() >= 0);
            assertEquals(MIB + 17, f.size());
            assertTrue(f.allocatedBytes() >= MIB + 17, "allocated " + f.allocatedBytes());
            assertEquals(List.of(new Extent(0, MIB + 17)), f.dataExtents(0, Long.MAX_VALUE), "clipped to EOF");
            assertEquals(List.of(new Extent(100, 50)), f.dataExtents(100, 150));
            assertEquals(List.of(), f.dataExtents(7, 7));
            assertEquals(List.of(), f.dataExtents(2L * MIB, 3L * MIB), "window past EOF");
            assertThrows(IllegalArgumentException.class, () -> f.dataExtents(10, 5));
        }
    }

    @Test
    void descriptorIsCloseOnExec() throws Exception {
        Path file = dir.resolve("cloexec");
        TestFiles.write(file, 0, new byte[1]);
        try (NativeFile f = io.open(file, true)) {
            // fdinfo "flags:" is octal open flags; O_CLOEXEC = 02000000, O_RDWR = 02
            String flagsLine = Files.readAllLines(Path.of("/proc/self/fdinfo/" + f.fd())).stream()
                    .filter(line -> line.startsWith("flags:")).findFirst().orElseThrow();
            long flags = Long.parseLong(flagsLine.substring("flags:".length()).trim(), 8);
            assertEquals(Linux.O_CLOEXEC, flags & Linux.O_CLOEXEC, flagsLine);
            assertEquals(Linux.O_RDWR, flags & 3, flagsLine);
        }
    }

    @Test
    void sparseFileOnTheBuildFilesystem() throws Exception {
        Path file = dir.resolve("sparse");
        TestFiles.createSparse(file, 8L * MIB);
        TestFiles.write(file, 4L * MIB, TestFiles.randomBytes(MIB, 2));
        try (NativeFile f = io.open(file, false)) {
            assertEquals(8L * MIB, f.size());
            assertTrue(f.allocatedBytes() < 8L * MIB, "sparse file allocated " + f.allocatedBytes());
            assertEquals(4L * MIB, f.seekData(0));
            assertEquals(5L * MIB, f.seekHole(4L * MIB));
            assertEquals(-1, f.seekData(5L * MIB), "only a hole follows");
            assertEquals(List.of(new Extent(4L * MIB, MIB)), f.dataExtents(0, 8L * MIB));
            NativeException pastEof = assertThrows(NativeException.class, () -> f.seekHole(9L * MIB));
            assertEquals("ENXIO", pastEof.errnoName());
        }
    }

    @Test
    void emptyFileHasNoData() throws Exception {
        Path file = dir.resolve("empty");
        Files.createFile(file);
        try (NativeFile f = io.open(file, false)) {
            assertEquals(0, f.size());
            assertEquals(-1, f.seekData(0));
            assertEquals(List.of(), f.dataExtents(0, 100));
        }
    }

    @Test
    void blockDeviceCallsOnARegularFileAreUnsupported() throws Exception {
        Path file = dir.resolve("not-a-device");
        TestFiles.write(file, 0, new byte[4096]);
        try (NativeFile f = io.open(file, true)) {
            for (ThrowingCall call : List.<ThrowingCall>of(f::logicalSectorSize, f::physicalSectorSize,
                    () -> f.discard(0, 4096), () -> f.zeroOut(0, 4096))) {
                UnsupportedOperationIOException e = assertThrows(UnsupportedOperationIOException.class, call::run);
                assertEquals("ENOTTY", e.errnoName());
                assertTrue(e.getMessage().startsWith("not a block device: "), e.getMessage());
                assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            }
        }
    }

    @Test
    void punchHoleOnAReadOnlyDescriptorIsEbadf() throws Exception {
        Path file = dir.resolve("ro");
        TestFiles.write(file, 0, TestFiles.randomBytes(MIB, 3));
        try (NativeFile f = io.open(file, false)) {
            NativeException e = assertThrows(NativeException.class, () -> f.punchHole(0, 4096));
            assertEquals("EBADF", e.errnoName());
            assertFalse(e instanceof UnsupportedOperationIOException);
        }
    }

    @Test
    void directoryCannotBeOpenedForWriting() throws Exception {
        NativeException e = assertThrows(NativeException.class, () -> io.open(dir, true));
        assertEquals("EISDIR", e.errnoName());
        assertEquals(21, e.errno());
    }

    @Test
    void fadviseAcceptsEveryAdviceAndReportsTheReturnedError() throws Exception {
        Path file = dir.resolve("advice");
        TestFiles.write(file, 0, TestFiles.randomBytes(MIB, 4));
        try (NativeFile f = io.open(file, false)) {
            for (Advice advice : Advice.values()) {
                assertDoesNotThrow(() -> f.fadvise(0, 0, advice), advice.name());
            }
            // posix_fadvise hands back EINVAL for a negative length as its return value, not errno
            NativeException e = assertThrows(NativeException.class, () -> f.fadvise(0, -1, Advice.DONTNEED));
            assertEquals("EINVAL", e.errnoName());
            assertTrue(e.getMessage().startsWith("posix_fadvise(DONTNEED) " + file + ": Invalid argument"), e.getMessage());
        }
    }

    @Test
    void syncCallsSucceed() throws Exception {
        Path file = dir.resolve("sync");
        TestFiles.write(file, 0, new byte[8192]);
        try (NativeFile f = io.open(file, true)) {
            f.fdatasync();
            f.fsync();
            f.syncfs();
        }
    }

    @Test
    void closeIsIdempotentAndLaterCallsFail() throws Exception {
        Path file = dir.resolve("closing");
        TestFiles.write(file, 0, new byte[10]);
        NativeFile f = io.open(file, false);
        f.close();
        f.close();
        IOException e = assertThrows(IOException.class, f::size);
        assertFalse(e instanceof NativeException, "a closed handle is a usage error, not an errno");
        assertTrue(f.toString().contains("closed"));
    }

    @Test
    void cloneFromAClosedFileIsRejected() throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        TestFiles.write(a, 0, new byte[10]);
        TestFiles.write(b, 0, new byte[10]);
        try (NativeFile dest = io.open(b, true)) {
            NativeFile source = io.open(a, false);
            source.close();
            assertThrows(IOException.class, () -> dest.cloneFrom(source));
        }
    }

    @Test
    void readOnlyOpenLeavesContentAlone() throws Exception {
        Path file = dir.resolve("content");
        byte[] data = TestFiles.randomBytes(4096, 5);
        TestFiles.write(file, 0, data);
        try (NativeFile f = io.open(file, false)) {
            assertNotEquals(-1, f.seekData(0));
        }
        assertArrayEquals(data, Files.readAllBytes(file));
    }

    @FunctionalInterface
    interface ThrowingCall {
        void run() throws Exception;
    }
}
