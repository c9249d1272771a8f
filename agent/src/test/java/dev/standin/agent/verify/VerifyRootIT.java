package dev.standin.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.failure.ExitStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What only root can set up: bit rot that leaves the replica's identity untouched (a byte changed
 * in the filesystem's backing file while it is unmounted, so the inode's ctime stays), which a
 * sync trusting the record cannot see and a scrub must; and a replica that is a loop block device.
 */
@Tag("root")
class VerifyRootIT {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void bitRotBeneathTheFilesystemIsFoundThoughTheIdentityIsUnchanged() throws Exception {
        Path fs = dir.resolve("fs.img");
        try (RandomAccessFile f = new RandomAccessFile(fs.toFile(), "rw")) {
            f.setLength(64 * MIB);
        }
        Images.run("mkfs.ext4", "-F", "-q", "-b", "4096", "-m", "0", fs.toString());
        Path mount = Files.createDirectory(dir.resolve("mnt"));
        Path source = Images.createRandom(dir.resolve("vm.img"), 16 * MIB, 1);
        Path replica = mount.resolve("replica.img");
        Path state = dir.resolve("state");
        Images.run("mount", "-o", "loop", fs.toString(), mount.toString());
        Map<String, Object> identity;
        try {
            assertEquals(0, Cli.sync(source, replica, state).exit());
            identity = Files.readAttributes(replica, "unix:ino,size,lastModifiedTime,ctime");
        } finally {
            Images.run("umount", mount.toString());
        }

        // Rot one byte of logical block 1000 in the backing file, where the filesystem cannot see it.
        String bmap = Images.run("debugfs", "-R", "bmap /replica.img 1000", fs.toString());
        long physical = Long.parseLong(bmap.strip().lines().reduce((a, b) -> b).orElseThrow().strip());
        try (FileChannel ch = FileChannel.open(fs, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, physical * 4096 + 77);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) ~b.get(0)}), physical * 4096 + 77);
            ch.force(true);
        }

        Images.run("mount", "-o", "loop", fs.toString(), mount.toString());
        try {
            assertEquals(identity, Files.readAttributes(replica, "unix:ino,size,lastModifiedTime,ctime"),
                    "the rot changed the replica's identity, so this test would not test bit rot");
            assertNotEquals(Images.sha256(source), Images.sha256(replica));

            // A sync trusts the record, whose identity still matches: it neither reads nor repairs.
            Cli.Result trusting = Cli.sync(source, replica, state);
            assertEquals(0, trusting.exit(), trusting.err());
            assertEquals("cache", trusting.json().get("signatures").asText());
            assertEquals(0, trusting.json().get("literalBytes").asLong());
            assertNotEquals(Images.sha256(source), Images.sha256(replica));

            Cli.Result r = Cli.run("verify", replica.toString(), "--json");
            assertEquals(ExitStatus.VERIFY.code(), r.exit(), r.err());
            JsonNode scrub = r.json().get("scrub");
            assertEquals("intact", scrub.get("record").asText(), "the identity check passed, as it does for bit rot");
            assertEquals(1, scrub.get("blocksDrifted").asLong(), scrub.toString());
            assertEquals(1000 * 4096, scrub.get("driftedRanges").get(0).get("offset").asLong());

            Cli.Result repair = Cli.sync(source, replica, state);
            assertEquals(0, repair.exit(), repair.err());
            assertEquals("read", repair.json().get("signatures").asText());
            assertEquals(4096, repair.json().get("literalBytes").asLong());
            assertEquals(Images.sha256(source), Images.sha256(replica));
        } finally {
            Images.run("umount", mount.toString());
        }
    }

    @Test
    void loopDeviceReplicaHasNoRecordAndIsRepairedAgainstItsSource() throws Exception {
        Path source = Images.createRandom(dir.resolve("vm.img"), 16 * MIB, 2);
        Path state = dir.resolve("state");
        try (Loop device = Loop.create(dir.resolve("disk.raw"), 24 * MIB)) {
            assertEquals(0, Cli.sync(source, device.path, state).exit());

            Cli.Result alone = Cli.run("verify", device.path.toString(), "--json", "--state-dir", state.toString());
            assertEquals(ExitStatus.VERIFY.code(), alone.exit(), alone.err());
            assertEquals("unverifiable", alone.json().get("status").asText());
            assertTrue(alone.err().contains("block devices have no signature record"), alone.err());

            try (FileChannel ch = FileChannel.open(device.path, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap("rot".getBytes()), 5 * MIB + 10);
                ch.write(ByteBuffer.wrap("rot".getBytes()), 11 * MIB);
                ch.force(true);
            }
            assertNotEquals(Images.sha256(source), sha256Prefix(device.path, 16 * MIB));

            Cli.Result r = Cli.run("verify", device.path.toString(), "--against", source.toString(), "--json",
                    "--state-dir", state.toString());
            assertEquals(0, r.exit(), r.err());
            JsonNode json = r.json();
            assertEquals("repaired", json.get("status").asText());
            assertFalse(json.get("scrub").get("compared").asBoolean());
            assertEquals(16 * MIB, json.get("scrub").get("length").asLong());
            assertEquals("scrub", json.get("repair").get("signatures").asText());
            assertEquals(2, json.get("repair").get("blocksChanged").asLong(), json.toString());
            assertEquals(2 * 4096, json.get("repair").get("literalBytes").asLong());
            assertEquals(Images.sha256(source), sha256Prefix(device.path, 16 * MIB));
        }
    }

    private static String sha256Prefix(Path path, long length) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(path)) {
            byte[] buf = new byte[1 << 20];
            for (long left = length; left > 0; ) {
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

    /** A loop device over a sparse file, detached on close (as in BlockDeviceIT). */
    private static final class Loop implements AutoCloseable {
        final Path path;

        private Loop(Path path) {
            this.path = path;
        }

        static Loop create(Path backing, long size) throws Exception {
            try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
                f.setLength(size);
            }
            return new Loop(Path.of(Images.run("losetup", "-f", "--show", backing.toString()).strip()));
        }

        @Override
        public void close() throws Exception {
            Process p = new ProcessBuilder("losetup", "-d", path.toString()).redirectErrorStream(true).start();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
