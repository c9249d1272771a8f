package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory does not grow with the image: a 1 TiB sparse image (2^20 blocks of 1 MiB, the most the
 * block size rule allows before blocks grow) syncs, first copy and incremental, in a separate JVM
 * limited to a 256 MiB heap (direct buffers count against the same limit).
 */
class BoundedMemoryIT {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void oneTebibyteImageSyncsIn256MiBHeap() throws Exception {
        Path source = dir.resolve("big.img");
        SplittableRandom random = new SplittableRandom(1);
        try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
            f.setLength(1L << 40);
        }
        try (var ch = java.nio.channels.FileChannel.open(source, java.nio.file.StandardOpenOption.WRITE)) {
            for (int i = 0; i < 16; i++) {
                Images.writeRandom(ch, random.nextLong(1L << 40 - 20) << 20, 2 * MIB, random);
            }
        }
        Path replica = dir.resolve("replica.img");
        run(source, replica, "first");
        try (var ch = java.nio.channels.FileChannel.open(source, java.nio.file.StandardOpenOption.WRITE)) {
            Images.writeRandom(ch, 123L << 30, 4096, random);
        }
        Files.delete(dir.resolve(".replica.img.standin-sigs")); // force the replica scan as well
        run(source, replica, "second");
        assertEquals(Files.size(source), Files.size(replica));
        assertTrue(Images.allocated(replica) < 256 * MIB);
    }

    private void run(Path source, Path replica, String name) throws Exception {
        List<String> command = Cli.javaCommand("256m", "sync", source.toString(), replica.toString(), "--json",
                "--state-dir", dir.resolve("state").toString());
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(600, TimeUnit.SECONDS), "sync of 1 TiB did not finish");
        assertEquals(0, p.exitValue(), Files.readString(log));
        assertTrue(Files.readString(log).contains("\"blockSize\":1048576"), Files.readString(log));
    }
}
