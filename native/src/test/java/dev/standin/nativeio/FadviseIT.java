package dev.standin.nativeio;

import static dev.standin.nativeio.TestFiles.MIB;
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
