package dev.standin.nativeio;

import static dev.standin.nativeio.TestFiles.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * POSIX_FADV_DONTNEED really evicts the file from the page cache, measured with fincore(1).
 * Runs on a private ext4 mount: tmpfs pages cannot be dropped, and the build machine's own
 * filesystem could be anything.
 */
@Tag("root")
class FadviseIT {

    private static final long FILE_BYTES = 64L * MIB;

    private final NativeIo io = NativeIo.load();

    @TempDir
    Path dir;

    @Test
    void dontNeedDropsCachedPages() throws Exception {
        String fincore = Commands.require("fincore", "util-linux");
        try (MountedFs fs = MountedFs.create(FsType.EXT4, dir, 2 * FILE_BYTES)) {
            Path file = fs.resolve("image.raw");
            for (int i = 0; i < FILE_BYTES / (4 * MIB); i++) {
                TestFiles.write(file, (long) i * 4 * MIB, TestFiles.randomBytes(4 * MIB, 50 + i));
            }
            try (NativeFile f = io.open(file, false)) {
                f.fdatasync(); // DONTNEED only drops clean pages
                f.fadvise(0, 0, Advice.DONTNEED);
                long afterWriteDrop = cachedBytes(fincore, file);
                assertTrue(afterWriteDrop < 4L * MIB, "written pages still cached: " + afterWriteDrop);

                f.fadvise(0, 0, Advice.SEQUENTIAL);
                readAll(file);
                long afterRead = cachedBytes(fincore, file);
                assertTrue(afterRead >= FILE_BYTES - 4L * MIB, "a full read should populate the cache: " + afterRead);

                f.fadvise(0, 0, Advice.DONTNEED);
                long afterDrop = cachedBytes(fincore, file);
                assertTrue(afterDrop < MIB, "DONTNEED left " + afterDrop + " bytes cached (was " + afterRead + ")");
            }
        }
    }

    /** residentPages says what fincore says, page by page where it matters: read ranges, dropped ranges. */
    @Test
    void residentPagesAreThePagesInTheCache() throws Exception {
        String fincore = Commands.require("fincore", "util-linux");
        try (MountedFs fs = MountedFs.create(FsType.EXT4, dir, 2 * FILE_BYTES)) {
            Path file = fs.resolve("image.raw");
            for (int i = 0; i < FILE_BYTES / (4 * MIB); i++) {
                TestFiles.write(file, (long) i * 4 * MIB, TestFiles.randomBytes(4 * MIB, 70 + i));
            }
            try (NativeFile f = io.open(file, false);
                    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                f.fdatasync();
                f.fadvise(0, 0, Advice.DONTNEED);
                assertEquals(4096, io.pageSize());
                long pages = FILE_BYTES / io.pageSize();
                java.nio.MappedByteBuffer whole = map(channel, 0, FILE_BYTES);
                assertTrue(io.residentPages(whole).cardinality() < pages / 16);
                channel.read(ByteBuffer.allocate((int) (8 * MIB)), 16 * MIB); // pages [4096, 6144)
                java.util.BitSet resident = io.residentPages(whole);
                assertEquals(2048, resident.get(4096, 6144).cardinality(), "the pages just read");
                long settledPages = assertSameCountAsFincore(fincore, file, whole) / io.pageSize();
                assertEquals(512, io.residentPages(map(channel, 20 * MIB, 2 * MIB)).cardinality(),
                        "a mapping inside what was read");
                f.fadvise(16 * MIB, 4 * MIB, Advice.DONTNEED);
                assertEquals(1024, io.residentPages(map(channel, 16 * MIB, 8 * MIB)).cardinality(),
                        "the half not dropped");
                assertEquals(settledPages - 1024, io.residentPages(whole).cardinality(),
                        "asking faulted nothing in");
                assertThrows(IllegalArgumentException.class, () -> io.residentPages(ByteBuffer.allocate(4096)));
            } finally {
                mappings.forEach(UNSAFE::invokeCleaner); // else the mount stays busy until a collection
            }
        }
    }

    /**
     * The read's readahead may still be in flight when either count is taken (seen on a loaded
     * 2-core VM: 2 MiB apart once), so the two must agree once the cache holds still. Returns the
     * resident bytes they agree on.
     */
    private long assertSameCountAsFincore(String fincore, Path file, java.nio.MappedByteBuffer whole)
            throws Exception {
        long ours = -1;
        long theirs = -2;
        for (int attempt = 0; attempt < 50 && ours != theirs; attempt++) {
            if (attempt > 0) {
                Thread.sleep(100);
            }
            ours = io.residentPages(whole).cardinality() * io.pageSize();
            theirs = cachedBytes(fincore, file);
        }
        assertEquals(theirs, ours, "fincore's count");
        return ours;
    }

    private final java.util.List<java.nio.MappedByteBuffer> mappings = new java.util.ArrayList<>();

    private java.nio.MappedByteBuffer map(FileChannel channel, long offset, long length) throws java.io.IOException {
        java.nio.MappedByteBuffer m = channel.map(FileChannel.MapMode.READ_ONLY, offset, length);
        mappings.add(m);
        return m;
    }

    private static final sun.misc.Unsafe UNSAFE = unsafe();

    private static sun.misc.Unsafe unsafe() {
        try {
            java.lang.reflect.Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * startWriteback sends dirty pages to the disk without an fsync: the loop device under the
     * filesystem sees the writes within a second, where the kernel would wait 30 s on its own.
     */
    @Test
    void startWritebackWritesDirtyPagesWithoutWaitingForThem() throws Exception {
        try (MountedFs fs = MountedFs.create(FsType.EXT4, dir, 2 * FILE_BYTES)) {
            Path file = fs.resolve("dirty.raw");
            long before = sectorsWritten(fs.device());
            TestFiles.write(file, 0, TestFiles.randomBytes((int) (32 * MIB), 90));
            try (NativeFile f = io.open(file, true)) {
                f.startWriteback(0, 32 * MIB);
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (sectorsWritten(fs.device()) - before < 32 * MIB / 512 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                long written = (sectorsWritten(fs.device()) - before) * 512;
                assertTrue(written >= 32 * MIB, "only " + written + " bytes reached the device");
                assertThrows(NativeException.class, () -> f.startWriteback(-4096, 4096));
            }
        }
    }

    /** Field 7 of /sys/block/DEV/stat: sectors written to the device. */
    private static long sectorsWritten(Path device) throws Exception {
        String stat = java.nio.file.Files.readString(Path.of("/sys/block", device.getFileName().toString(), "stat"));
        return Long.parseLong(stat.trim().split("\\s+")[6]);
    }

    /** First column of {@code fincore --bytes --noheadings FILE}: resident bytes. */
    private static long cachedBytes(String fincore, Path file) throws Exception {
        String line = Commands.check(fincore, "--bytes", "--noheadings", file.toString()).strip();
        return Long.parseLong(line.split("\\s+")[0]);
    }

    private static void readAll(Path file) throws Exception {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(MIB);
            while (channel.read(buffer) >= 0) {
                buffer.clear();
            }
        }
    }
}
