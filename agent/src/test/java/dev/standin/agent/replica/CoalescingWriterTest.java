package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoalescingWriterTest {

    @TempDir
    Path dir;

    @Test
    void writesInAnyOrderAndSizeLandWhereTheyBelongOnceFlushed() throws Exception {
        Path file = dir.resolve("f");
        byte[] expected = new byte[5 << 20];
        SplittableRandom random = new SplittableRandom(1);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            CoalescingWriter writer = new CoalescingWriter(channel);
            // Runs that follow each other, a gap, a write before the buffered run, one larger than the buffer.
            int[][] writes = {{0, 4096}, {4096, 4096}, {8192, 100_000}, {300_000, 4096}, {200_000, 4096},
                {1 << 20, (2 << 20) + 5}, {(3 << 20) + 5, 4096}};
            for (int[] w : writes) {
                byte[] data = new byte[w[1]];
                random.nextBytes(data);
                System.arraycopy(data, 0, expected, w[0], w[1]);
                writer.write(w[0], ByteBuffer.wrap(data));
            }
            writer.flush();
            assertEquals((3 << 20) + 5 + 4096, channel.size());
        }
        byte[] written = Files.readAllBytes(file);
        assertArrayEquals(java.util.Arrays.copyOf(expected, written.length), written);
    }
}
