package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.snapshot.DeviceMapperGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin sync --snapshot lvm:VG/LV} end to end on a real thin LV in a volume group on a
 * loop device: the first cycle scans the snapshot and keeps it as the base of the next delta, the
 * next reads only the chunks thin_delta names and yields a byte-identical replica, and a classic
 * LV is replicated from a frozen snapshot that is removed afterwards. Needs device-mapper: where
 * this kernel has none, {@link LvmSyncInGuestIT} runs this class in a QEMU guest that has it.
 */
@Tag("root")
class LvmSyncIT {

    private static final List<String> NO_UDEV = List.of("--config", "activation{udev_sync=0 udev_rules=0}");

    @TempDir
    Path directory;
    private String vg;
    private String loop;

    private void volumeGroup() throws Exception {
        assumeTrue(DeviceMapperGuest.hostHasDeviceMapper(), "no device-mapper in this kernel: LvmSyncInGuestIT runs this");
        Path file = directory.resolve("pv.img");
        try (var f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        loop = Images.run("losetup", "-f", "--show", file.toString()).strip();
        // A name of its own per test: without udev, a removed VG can leave its /dev directory behind.
        String name = "standinsync" + ProcessHandle.current().pid() + "x" + System.nanoTime() % 100_000;
        lvm("vgcreate", name, loop);
        vg = name;
    }

    @AfterEach
    void removeVolumeGroup() throws Exception {
        if (vg != null) {
            lvm("vgremove", "-f", vg);
        }
        if (loop != null) {
            Images.run("losetup", "-d", loop);
        }
    }

    private static void lvm(String tool, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(tool));
        command.addAll(NO_UDEV);
        command.addAll(List.of(args));
        Images.run(command.toArray(String[]::new));
    }

    private static JsonNode sync(Path source, Path replica, Path state, String snapshot) throws Exception {
        Cli.Result result = Cli.sync(source, replica, state, "--snapshot", snapshot);
        assertEquals(0, result.exit(), result.err());
        return result.json();
    }

    private static void write(Path device, long offset, int length) throws Exception {
        Images.run("dd", "if=/dev/urandom", "of=" + device, "bs=" + length, "count=1", "seek=" + offset / length,
                "conv=notrunc,fsync", "status=none");
    }

    @Test
    void aThinVolumeIsReplicatedReadingOnlyTheChunksThinDeltaNames() throws Exception {
        volumeGroup();
        lvm("lvcreate", "-y", "--type", "thin-pool", "-n", "pool", "-L", "256m", vg);
        lvm("lvcreate", "-y", "-n", "disk", "-V", "64m", "--thinpool", "pool", vg);
        Path origin = Path.of("/dev", vg, "disk");
        Images.run("dd", "if=/dev/urandom", "of=" + origin, "bs=1M", "count=64", "status=none");
        Path replica = directory.resolve("replica.img");
        Path state = Files.createDirectories(directory.resolve("state"));
        String snapshot = "lvm:" + vg + "/disk";

        JsonNode first = sync(origin, replica, state, snapshot);
        assertTrue(first.path("tracking").asText().startsWith("full-scan:"), first.toString());
        assertEquals(Images.sha256(origin), Images.sha256(replica));

        write(origin, 16 << 20, 1 << 20);
        write(origin, 50 << 20, 4096);
        JsonNode second = sync(origin, replica, state, snapshot);
        assertEquals("thin-delta", second.path("tracking").asText(), second.toString());
        assertTrue(second.path("sourceBytesRead").asLong() <= 4 << 20,
                "read only around the two writes (thin-pool chunks of 64 KiB): " + second);
        assertEquals(0, second.path("replicaBytesRead").asLong());
        assertEquals(Images.sha256(origin), Images.sha256(replica));

        JsonNode idle = sync(origin, replica, state, snapshot);
        assertEquals("thin-delta", idle.path("tracking").asText(), idle.toString());
        assertEquals(0, idle.path("sourceBytesRead").asLong(), "nothing written, nothing read: " + idle);
        assertEquals(1, Images.run("lvs", "--noheadings", "-o", "lv_name", vg).lines()
                .filter(l -> l.strip().startsWith("standin-")).count(), "only the base of the next delta is kept");
    }

    @Test
    void aClassicVolumeIsReplicatedFromASnapshotThatIsThenRemoved() throws Exception {
        volumeGroup();
        lvm("lvcreate", "-y", "-n", "disk", "-L", "64m", vg);
        Path origin = Path.of("/dev", vg, "disk");
        Images.run("dd", "if=/dev/urandom", "of=" + origin, "bs=1M", "count=64", "status=none");
        Path replica = directory.resolve("replica.img");
        Path state = Files.createDirectories(directory.resolve("state"));
        JsonNode result = sync(origin, replica, state, "lvm:" + vg + "/disk");
        assertTrue(result.path("tracking").asText().startsWith("full-scan:"), result.toString());
        assertEquals(Images.sha256(origin), Images.sha256(replica));
        assertEquals("disk", Images.run("lvs", "--noheadings", "-o", "lv_name", vg).strip());
    }
}
