package dev.standin.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.SplittableRandom;

/** Disk images for tests: random, text-like and hole extents, block edits, content digests. */
public final class Images {

    private Images() {}

    /**
     * Writes a sparse image of {@code size} bytes: roughly half random data, a third text-like,
     * the rest holes, in extents of 64 KiB to 2 MiB.
     */
    public static Path create(Path path, long size, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            long pos = 0;
            while (pos < size) {
                long n = Math.min(size - pos, (64 << 10) + random.nextInt(2 << 20));
                int kind = random.nextInt(6);
                if (kind < 3) {
                    writeRandom(out, pos, n, random);
                } else if (kind < 5) {
                    writeText(out, pos, n, random);
                }
                pos += n;
            }
            if (out.size() < size) {
                out.write(ByteBuffer.wrap(new byte[1]), size - 1);
            }
        }
        return path;
    }

    /** Writes {@code size} bytes of random data (no holes) and syncs them to disk. */
    public static Path createRandom(Path path, long size, long seed) throws IOException {
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeRandom(out, 0, size, new SplittableRandom(seed));
            out.force(true);
        }
        return path;
    }

    /** Runs an external command (argument list, no shell) and returns its output; fails on non-zero exit. */
    public static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start(); // a prompt reads EOF, never hangs
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    /** Overwrites {@code count} blocks of {@code blockSize} bytes, chosen at random, with new data. */
    public static long overwriteBlocks(Path path, int count, int blockSize, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.WRITE)) {
            long blocks = out.size() / blockSize;
            for (int i = 0; i < count; i++) {
                writeRandom(out, random.nextLong(blocks) * blockSize, blockSize, random);
            }
        }
        return (long) count * blockSize;
    }

    public static void writeRandom(FileChannel out, long pos, long n, SplittableRandom random) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(64 << 10);
        while (n > 0) {
            buf.clear();
            int len = (int) Math.min(n, buf.capacity());
            for (int i = 0; i + 8 <= len; i += 8) {
                buf.putLong(random.nextLong());
            }
            while (buf.position() < len) {
                buf.put((byte) random.nextInt());
            }
            buf.flip();
            while (buf.hasRemaining()) {
                pos += out.write(buf, pos);
            }
            n -= len;
        }
    }

    private static void writeText(FileChannel out, long pos, long n, SplittableRandom random) throws IOException {
        byte[] line = ("log entry host=db%d status=ok latency_ms=%d\n").getBytes();
        ByteBuffer buf = ByteBuffer.allocate(64 << 10);
        while (n > 0) {
            buf.clear();
            int len = (int) Math.min(n, buf.capacity());
            while (buf.position() < len) {
                byte b = line[buf.position() % line.length];
                buf.put(b == '%' ? (byte) ('0' + random.nextInt(10)) : b);
            }
            buf.flip();
            while (buf.hasRemaining()) {
                pos += out.write(buf, pos);
            }
            n -= len;
        }
    }

    /** SHA-256 of the whole content, hex. */
    public static String sha256(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Bytes the filesystem allocated to the file. */
    public static long allocated(Path path) throws IOException {
        Map<String, Object> a = Files.readAttributes(path, "unix:*");
        Object blocks = a.get("blocks");
        if (blocks instanceof Long b) {
            return b * 512;
        }
        return Long.parseLong(new String(new ProcessBuilder("stat", "-c", "%b", path.toString())
                .start().getInputStream().readAllBytes()).trim()) * 512;
    }
}
