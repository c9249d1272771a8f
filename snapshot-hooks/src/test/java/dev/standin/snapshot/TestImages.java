package dev.standin.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

/** Images for hook tests: random content, ranges read back, whole-file digests. */
public final class TestImages {

    private TestImages() {}

    public static Path random(Path file, long size, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long done = 0; done < size; done += chunk.length) {
                random.nextBytes(chunk);
                out.write(ByteBuffer.wrap(chunk, 0, (int) Math.min(chunk.length, size - done)));
            }
        }
        return file;
    }

    public static byte[] read(Path file, long offset, int length) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(length);
            while (buffer.hasRemaining() && in.read(buffer, offset + buffer.position()) >= 0) {
                // keep reading
            }
            return buffer.array();
        }
    }

    /** True if every byte of the range is {@code value}. */
    public static boolean filledWith(Path file, long offset, int length, int value) throws IOException {
        for (byte b : read(file, offset, length)) {
            if (b != (byte) value) {
                return false;
            }
        }
        return true;
    }

    public static String sha256(Path file) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
            while (in.read(buffer.clear()) > 0) {
                sha.update(buffer.flip());
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
