package dev.standin.nativeio;

import static dev.standin.nativeio.TestFiles.MIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Sparse-file calls on each filesystem standin meets in practice, each freshly made on a loop device. */
@Tag("root")
class FilesystemIT {

    private final NativeIo io = NativeIo.load();

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(FsType.class)
    void seekDataAndHoleFindTheWrittenExtents(FsType type) throws Exception {
        try (MountedFs fs = MountedFs.create(type, dir)) {
            Path file = fs.resolve("sparse.img");
            // Size first, then write inside EOF: no speculative end-of-file preallocation muddies the map.
            TestFiles.createSparse(file, 16L * MIB);
            TestFiles.write(file, 0, TestFiles.randomBytes(MIB, 21));
            TestFiles.write(file, 5L * MIB, TestFiles.randomBytes(MIB, 22));
            try (NativeFile f = io.open(file, false)) {
                assertEquals(16L * MIB, f.size());
                assertEquals(0, f.seekData(0));
                assertEquals(MIB, f.seekHole(0));
                assertEquals(5L * MIB, f.seekData(MIB));
                assertEquals(6L * MIB, f.seekHole(5L * MIB));
                assertEquals(-1, f.seekData(6L * MIB), "nothing but hole up to EOF");
                assertEquals(List.of(new Extent(0, MIB), new Extent(5L * MIB, MIB)), f.dataExtents(0, 16L * MIB));
                assertEquals(List.of(new Extent(MIB / 2, MIB / 2), new Extent(5L * MIB, MIB / 2)),
                        f.dataExtents(MIB / 2, 5L * MIB + MIB / 2), "window cuts both extents");
                assertEquals(List.of(), f.dataExtents(2L * MIB, 5L * MIB), "window inside a hole");
                assertTrue(f.allocatedBytes() < 4L * MIB, type + " allocated " + f.allocatedBytes());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(FsType.class)
    void punchHoleFreesSpaceAndReadsBackZeros(FsType type) throws Exception {
        try (MountedFs fs = MountedFs.create(type, dir)) {
            Path file = fs.resolve("full.img");
            byte[] data = TestFiles.randomBytes(4 * MIB, 23);
            TestFiles.write(file, 0, data);
            try (NativeFile f = io.open(file, true)) {
                long before = f.allocatedBytes();
                assertTrue(before >= 4L * MIB, type + " allocated " + before);
                f.punchHole(MIB, 2L * MIB);
                f.fsync();
                long after = f.allocatedBytes();
                assertTrue(after <= before - 2L * MIB, type + ": " + before + " -> " + after);
                assertEquals(4L * MIB, f.size(), "KEEP_SIZE");
                assertEquals(List.of(new Extent(0, MIB), new Extent(3L * MIB, MIB)), f.dataExtents(0, f.size()));
            }
            byte[] back = TestFiles.read(file, 0, 4 * MIB);
            for (int i = 0; i < back.length; i++) {
                byte expected = i >= MIB && i < 3 * MIB ? 0 : data[i];
                if (back[i] != expected) {
                    assertEquals(expected, back[i], type + ": byte " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(FsType.class)
    void statvfsMatchesDfAndSyncCallsSucceed(FsType type) throws Exception {
        String df = Commands.require("df", "coreutils");
        try (MountedFs fs = MountedFs.create(type, dir)) {
            Path file = fs.resolve("synced");
            TestFiles.write(file, 0, TestFiles.randomBytes(MIB, 24));
            try (NativeFile f = io.open(file, true)) {
                f.fdatasync();
                f.fsync();
                f.syncfs();
            }
            FsStats stats = io.statvfs(fs.mountPoint());
            String[] fields = Commands.check(df, "-B1", "--output=size,avail", fs.mountPoint().toString())
                    .strip().lines().reduce((first, second) -> second).orElseThrow().trim().split("\\s+");
            assertEquals(Long.parseLong(fields[0]), stats.totalBytes(), type + " total vs df");
            // nothing else writes here, but btrfs may still settle its space accounting after a sync
            assertEquals(Long.parseLong(fields[1]), stats.availableBytes(), 4.0 * MIB, type + " available vs df");
            assertTrue(stats.totalBytes() > 0 && stats.totalBytes() <= type.imageBytes, type + " total " + stats.totalBytes());
            assertTrue(stats.blockSize() >= 512, "block size " + stats.blockSize());
            assertTrue(stats.freeBytes() >= stats.availableBytes());
        }
    }
}
