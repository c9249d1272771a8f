package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.nativeio.NativeIo;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Points on real filesystems (loop-mounted, root): reflink clones on xfs and btrfs, undo data on
 * ext4 and tmpfs, and undo data in the state directory for a block device replica. Every kept
 * point restores to the bytes synced in its cycle.
 */
@Tag("root")
class PointsFilesystemIT {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private final List<String> cleanup = new ArrayList<>();

    @AfterEach
    void unmountAndDetach() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            String what = cleanup.get(i);
            if (what.startsWith("/dev/")) {
                Images.run("losetup", "-d", what);
            } else {
                Images.run("umount", what);
            }
        }
    }

    private Path mount(String type) throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("mnt-" + type));
        if (type.equals("tmpfs")) {
            Images.run("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", mnt.toString());
        } else {
            Path image = dir.resolve(type + ".fs");
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(320 * MIB); // xfs needs at least 300 MiB
            }
            switch (type) {
                case "ext4" -> Images.run("mkfs.ext4", "-F", "-q", image.toString());
                case "xfs" -> Images.run("mkfs.xfs", "-f", "-q", "-m", "reflink=1", image.toString());
                case "btrfs" -> Images.run("mkfs.btrfs", "-f", "-q", image.toString());
                default -> throw new IllegalArgumentException(type);
            }
            Images.run("mount", "-o", "loop", image.toString(), mnt.toString());
        }
        cleanup.add(mnt.toString());
        return mnt;
    }

    private Path loop(String name, long size) throws Exception {
        Path backing = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
            f.setLength(size);
        }
        String device = Images.run("losetup", "-f", "--show", backing.toString()).strip();
        cleanup.add(device);
        return Path.of(device);
    }

    @ParameterizedTest(name = "{0}: {1} points")
    @CsvSource({"ext4, undo", "tmpfs, undo", "xfs, clone", "btrfs, clone"})
    void everyKeptPointRestoresExactly(String type, String kind) throws Exception {
        Path mnt = mount(type);
        long usedBefore = used(mnt);
        Path source = Images.create(dir.resolve("vm.img"), 16 * MIB, 3);
        Path replica = mnt.resolve("replica.img");
        Path state = dir.resolve("state");
        Map<Long, String> contents = new HashMap<>();
        for (int cycle = 1; cycle <= 8; cycle++) {
            if (cycle > 1) {
                PointsIT.change(source, cycle);
            }
            Cli.Result r = Cli.sync(source, replica, state, "--keep-points", "5");
            assertEquals(0, r.exit(), type + " cycle " + cycle + ": " + r.err());
            contents.put((long) cycle, Images.sha256(source));
        }
        long grown = used(mnt) - usedBefore;
        JsonNode points = points(replica, state);
        assertEquals(5, points.size());
        for (JsonNode p : points) {
            long id = p.get("id").asLong();
            assertEquals(kind, p.get("kind").asText(), type + " point " + id);
            Path target = mnt.resolve("restored-" + id + ".img");
            Cli.Result r = Cli.run("restore", replica + "@" + id, target.toString(), "--state-dir", state.toString());
            assertEquals(0, r.exit(), type + " point " + id + ": " + r.err());
            assertEquals(contents.get(id), Images.sha256(target), type + " point " + id);
            Files.delete(target);
        }
        // Onto another filesystem (the test's directory): no reflink across filesystems, a copy.
        Path elsewhere = dir.resolve("restored-elsewhere.img");
        Cli.Result copied = Cli.run("restore", replica + "@4", elsewhere.toString(), "--state-dir", state.toString());
        assertEquals(0, copied.exit(), type + ": " + copied.err());
        assertEquals(contents.get(4L), Images.sha256(elsewhere), type + " point 4 elsewhere");
        System.out.printf("PointsFilesystemIT %s: replica %d bytes, filesystem grew by %d bytes for it and 5 %s points%n",
                type, Files.size(replica), grown, kind);
        // Five full copies would take five times the replica; clones share every unchanged extent.
        assertTrue(grown < 3 * Files.size(replica), type + ": " + grown + " bytes used");
    }

    @Test
    void clonePointsOutliveADamagedReplica() throws Exception {
        Path mnt = mount("xfs");
        Path source = Images.create(dir.resolve("vm.img"), 16 * MIB, 5);
        Path replica = mnt.resolve("replica.img");
        Path state = dir.resolve("state");
        Map<Long, String> contents = new HashMap<>();
        for (int cycle = 1; cycle <= 3; cycle++) {
            if (cycle > 1) {
                PointsIT.change(source, cycle);
            }
            assertEquals(0, Cli.sync(source, replica, state).exit());
            contents.put((long) cycle, Images.sha256(source));
        }
        try (RandomAccessFile f = new RandomAccessFile(replica.toFile(), "rw")) {
            f.setLength(MIB);
        }
        Cli.Result repaired = Cli.sync(source, replica, state);
        assertEquals(0, repaired.exit(), repaired.err());
        assertEquals("[]", repaired.json().get("pointsDropped").toString(), "clones do not read the replica");
        assertEquals(contents.get(3L), Images.sha256(replica));
        for (long id = 1; id <= 4; id++) {
            Path target = dir.resolve("restored-" + id + ".img");
            Cli.Result r = Cli.run("restore", replica + "@" + id, target.toString(), "--state-dir", state.toString());
            assertEquals(0, r.exit(), "point " + id + ": " + r.err());
            assertEquals(contents.get(Math.min(id, 3)), Images.sha256(target), "point " + id);
        }
    }

    @Test
    void aBlockDeviceReplicaKeepsUndoPointsInTheStateDirectory() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 40 * MIB, 4);
        Path device = loop("disk.raw", 48 * MIB);
        Path state = dir.resolve("state");
        Map<Long, String> contents = new HashMap<>();
        for (int cycle = 1; cycle <= 4; cycle++) {
            if (cycle > 1) {
                Images.overwriteBlocks(source, 200, 4096, cycle);
            }
            Cli.Result r = Cli.sync(source, device, state, "--keep-points", "3");
            assertEquals(0, r.exit(), "cycle " + cycle + ": " + r.err());
            contents.put((long) cycle, Images.sha256(source));
        }
        try (var stores = Files.list(state.resolve("points"))) {
            assertEquals(1, stores.count());
        }
        JsonNode points = points(device, state);
        assertEquals(3, points.size());
        for (JsonNode p : points) {
            long id = p.get("id").asLong();
            assertEquals("undo", p.get("kind").asText());
            Path target = dir.resolve("restored-" + id + ".img");
            Cli.Result r = Cli.run("restore", device + "@" + id, target.toString(), "--state-dir", state.toString());
            assertEquals(0, r.exit(), "point " + id + ": " + r.err());
            assertEquals(contents.get(id), Images.sha256(target), "point " + id);
        }
        // Onto another device: only with --force, and then its first 40 MiB are the point.
        Path other = loop("other.raw", 48 * MIB);
        Cli.Result refused = Cli.run("restore", device + "@2", other.toString(), "--state-dir", state.toString());
        assertEquals(2, refused.exit(), refused.err());
        Cli.Result forced = Cli.run("restore", device + "@2", other.toString(), "--state-dir", state.toString(),
                "--force");
        assertEquals(0, forced.exit(), forced.err());
        assertEquals(contents.get(2L), sha256Prefix(other, 40 * MIB));
    }

    private static JsonNode points(Path replica, Path state) throws Exception {
        Cli.Result r = Cli.run("points", replica.toString(), "--json", "--state-dir", state.toString());
        assertEquals(0, r.exit(), r.err());
        return r.json().get("points");
    }

    private static long used(Path mount) throws Exception {
        var stats = NativeIo.load().statvfs(mount);
        return stats.totalBytes() - stats.freeBytes();
    }

    private static String sha256Prefix(Path path, long length) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(path)) {
            byte[] buf = new byte[1 << 20];
            for (long left = length; left > 0; ) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                sha.update(buf, 0, n);
                left -= n;
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
