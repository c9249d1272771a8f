package dev.standin.nativeio;

import static dev.standin.nativeio.TestFiles.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Reflink clones: real on btrfs and xfs (reflink=1 is mkfs.xfs's default on Debian 12), refused on ext4. */
@Tag("root")
class CloneIT {

    private static final String UNSUPPORTED = "reflink clones are not supported on this filesystem";

    private final NativeIo io = NativeIo.load();

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = FsType.class, names = {"BTRFS", "XFS"})
    void cloneSharesTheWholeFile(FsType type) throws Exception {
        try (MountedFs fs = MountedFs.create(type, dir)) {
            Path source = fs.resolve("source.img");
            Path copy = fs.resolve("copy.img");
            byte[] data = TestFiles.randomBytes(4 * MIB, 31);
            TestFiles.write(source, 0, data);
            Files.createFile(copy);
            long availableBefore;
            try (NativeFile src = io.open(source, false); NativeFile dest = io.open(copy, true)) {
                src.syncfs();
                availableBefore = io.statvfs(fs.mountPoint()).availableBytes();
                dest.cloneFrom(src);
                dest.fsync();
                dest.syncfs();
                assertEquals(src.size(), dest.size());
            }
            assertArrayEquals(data, Files.readAllBytes(copy));
            long used = availableBefore - io.statvfs(fs.mountPoint()).availableBytes();
            assertTrue(used < 2L * MIB, type + ": a 4 MiB clone should share blocks, but used " + used + " bytes");
        }
    }

    @ParameterizedTest
    @EnumSource(value = FsType.class, names = {"BTRFS", "XFS"})
    void cloneRangeCopiesOneAlignedRange(FsType type) throws Exception {
        try (MountedFs fs = MountedFs.create(type, dir)) {
            Path source = fs.resolve("source.img");
            Path dest = fs.resolve("dest.img");
            byte[] sourceData = TestFiles.randomBytes(4 * MIB, 32);
            byte[] destData = TestFiles.randomBytes(4 * MIB, 33);
            TestFiles.write(source, 0, sourceData);
            TestFiles.write(dest, 0, destData);
            try (NativeFile src = io.open(source, false); NativeFile dst = io.open(dest, true)) {
                dst.cloneRangeFrom(src, MIB, MIB, 2L * MIB);
                dst.fsync();
                assertEquals(4L * MIB, dst.size());
            }
            byte[] expected = destData.clone();
            System.arraycopy(sourceData, MIB, expected, 2 * MIB, MIB);
            assertArrayEquals(expected, Files.readAllBytes(dest));
        }
    }

    @Test
    void ext4RefusesWithTheTypedException() throws Exception {
        try (MountedFs fs = MountedFs.create(FsType.EXT4, dir)) {
            Path source = fs.resolve("source.img");
            Path copy = fs.resolve("copy.img");
            TestFiles.write(source, 0, TestFiles.randomBytes(MIB, 34));
            Files.createFile(copy);
            try (NativeFile src = io.open(source, false); NativeFile dest = io.open(copy, true)) {
                UnsupportedOperationIOException whole = assertThrows(UnsupportedOperationIOException.class,
                        () -> dest.cloneFrom(src));
                assertEquals("EOPNOTSUPP", whole.errnoName());
                assertEquals(UNSUPPORTED, whole.reason());
                assertTrue(whole.getMessage().startsWith(UNSUPPORTED + ": FICLONE " + copy + " from " + source + ": "),
                        whole.getMessage());
                UnsupportedOperationIOException range = assertThrows(UnsupportedOperationIOException.class,
                        () -> dest.cloneRangeFrom(src, 0, MIB, 0));
                assertEquals("EOPNOTSUPP", range.errnoName());
            }
        }
    }

    @Test
    void acrossFilesystemsIsExdevAndUnsupported() throws Exception {
        try (MountedFs xfs = MountedFs.create(FsType.XFS, dir.resolve("a"));
                MountedFs btrfs = MountedFs.create(FsType.BTRFS, dir.resolve("b"))) {
            Path source = xfs.resolve("source.img");
            Path copy = btrfs.resolve("copy.img");
            TestFiles.write(source, 0, TestFiles.randomBytes(MIB, 35));
            Files.createFile(copy);
            try (NativeFile src = io.open(source, false); NativeFile dest = io.open(copy, true)) {
                UnsupportedOperationIOException e = assertThrows(UnsupportedOperationIOException.class,
                        () -> dest.cloneFrom(src));
                assertEquals("EXDEV", e.errnoName());
            }
        }
    }
}
