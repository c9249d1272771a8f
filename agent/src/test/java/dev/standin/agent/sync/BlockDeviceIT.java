package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.failure.ExitStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Block devices as source and destination: real loop devices (losetup, root). Sizes come from
 * BLKGETSIZE64, journals for a device destination live in the state directory, and a device too
 * small for the source is refused before anything is written.
 */
@Tag("root")
class BlockDeviceIT {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void fileToDeviceAndBack() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 40 * MIB, 1);
        try (Loop device = Loop.create(dir.resolve("disk.raw"), 48 * MIB)) {
            Path state = dir.resolve("state");
            Cli.Result first = Cli.sync(source, device.path, state);
            assertEquals(0, first.exit(), first.err());
            assertEquals(Images.sha256(source), sha256Prefix(device.path, 40 * MIB));
            assertEquals("read", first.json().get("signatures").asText());

            long changed = Images.overwriteBlocks(source, 50, 4096, 2);
            Cli.Result second = Cli.sync(source, device.path, state);
            assertEquals(0, second.exit(), second.err());
            assertEquals(Images.sha256(source), sha256Prefix(device.path, 40 * MIB));
            assertEquals(changed, second.json().get("literalBytes").asLong());
            try (var files = Files.list(state.resolve("journal"))) {
                assertEquals(0, files.count(), "journal left behind");
            }

            Path back = dir.resolve("back.img");
            Cli.Result fromDevice = Cli.sync(device.path, back, state);
            assertEquals(0, fromDevice.exit(), fromDevice.err());
            assertEquals(48 * MIB, Files.size(back));
            assertEquals(sha256Prefix(device.path, 48 * MIB), Images.sha256(back));
        }
    }

    @Test
    void deviceSmallerThanTheSourceIsRefusedUntouched() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 24 * MIB, 3);
        try (Loop device = Loop.create(dir.resolve("small.raw"), 16 * MIB)) {
            String before = sha256Prefix(device.path, 16 * MIB);
            Cli.Result r = Cli.sync(source, device.path, dir.resolve("state"));
            assertEquals(ExitStatus.DESTINATION.code(), r.exit());
            assertTrue(r.err().contains("less than the source"), r.err());
            assertEquals(before, sha256Prefix(device.path, 16 * MIB));
        }
    }

    private static String sha256Prefix(Path path, long length) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(path)) {
            byte[] buf = new byte[1 << 20];
            long left = length;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new IOException(path + " is shorter than " + length);
                }
                sha.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** A loop device over a sparse file, detached on close. */
    private static final class Loop implements AutoCloseable {
        final Path path;

        private Loop(Path path) {
            this.path = path;
        }

        static Loop create(Path backing, long size) throws Exception {
            try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
                f.setLength(size);
            }
            Process p = new ProcessBuilder("losetup", "-f", "--show", backing.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0,
                    "losetup failed (root and util-linux needed): " + out);
            return new Loop(Path.of(out));
        }

        @Override
        public void close() throws Exception {
            Process p = new ProcessBuilder("losetup", "-d", path.toString()).redirectErrorStream(true).start();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
