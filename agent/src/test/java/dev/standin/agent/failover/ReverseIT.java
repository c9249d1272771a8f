package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.vm.VmPoints;
import dev.standin.snapshot.qemu.QmpClient;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicating back after a failover: the VM runs at DR on its overlays and writes there; 'standin
 * reverse' sends its disks, as the guest sees them at one instant, to the original host over SSH,
 * and only the blocks that differ from the original disk go over the wire.
 */
class ReverseIT {

    @TempDir
    Path dir;

    @AfterEach
    void noVmLeft() {
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            List<ProcessHandle> left = all.filter(p -> p.info().commandLine().map(c -> c.contains("qemu-system")
                    && c.contains(dir.toString())).orElse(false)).toList();
            left.forEach(ProcessHandle::destroyForcibly);
            assertEquals(List.of(), left, "QEMU processes left behind");
        }
    }

    @Test
    void whatTheVmWroteAtDrGoesBackAsADeltaAgainstTheOriginalDisk() throws Exception {
        Path original = Files.createDirectories(dir.resolve("site-a"));
        Path web = Files.copy(FailoverIT.IMAGES.resolve("agent.img"), original.resolve("web.img"));
        Path replicas = Files.createDirectories(dir.resolve("site-b"));
        CycleRequest.Disk disk = new CycleRequest.Disk(SyncOptions.builder(web, replicas.resolve("web.img"))
                .stateDirectory(dir.resolve("state-a")).build(), Optional.empty());
        assertTrue(new Replication(Progress.NONE, line -> { }, Optional.empty()).run(new CycleRequest(List.of(disk),
                Optional.empty(), false, Optional.of(new CycleRequest.Vm("web", Optional.of(FailoverIT.SMALL)))))
                .succeeded());

        Cli.Result failover = Cli.run("failover", "web", "--json", "--root", replicas.toString(), "--state-dir",
                dir.resolve("state-b").toString());
        assertEquals(0, failover.exit(), failover.err() + failover.out());
        // The VM writes at DR: 64 KiB at 30 MiB (past the boot files), through its own disk.
        Path monitor = new VmPoints(replicas, "web").directory().resolve("failover/qmp.sock");
        try (QmpClient qmp = QmpClient.connect(monitor, Duration.ofSeconds(10))) {
            String wrote = qmp.human("qemu-io virtio0 \"write -P 0x5a 30M 64k\"");
            assertEquals("", wrote.strip(), "qemu-io says nothing when it wrote");
        }
        try {
            reverse(original, replicas, web);
            plannedReverse(original, replicas, web, monitor);
        } finally {
            Cli.Result cleanup = Cli.run("failover", "web", "--cleanup", "--discard", "--root", replicas.toString());
            assertEquals(0, cleanup.exit(), cleanup.err());
        }
    }

    /**
     * The end of the episode: the VM at DR is powered off through its guest agent, a last reverse
     * carries its last write, and the original site's receiver starts that VM point (from its
     * launch spec, under QEMU) and checks that it boots.
     */
    private void plannedReverse(Path original, Path replicas, Path web, Path monitor) throws Exception {
        try (QmpClient qmp = QmpClient.connect(monitor, Duration.ofSeconds(10))) {
            assertEquals("", qmp.human("qemu-io virtio0 \"write -P 0x6b 31M 64k\"").strip());
        }
        ProcessHandle atDr = QemuMachine.in(monitor.getParent()).process().orElseThrow();
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd-planned"), null)) {
            Cli.Result moved = Cli.run("reverse", "web", "--planned", "--root", replicas.toString(), "--json",
                    "--to", sshd.url(original) + "/", "-i", sshd.clientKey().toString(),
                    "--known-hosts", sshd.knownHosts().toString(), "--ssh-config", "none",
                    "--remote-standin", sshd.launcher().toString(), "--state-dir", dir.resolve("state-b").toString(),
                    "--boot-timeout", "3m");
            assertEquals(0, moved.exit(), moved.err() + moved.out());
            JsonNode report = new ObjectMapper().readTree(moved.out());
            assertEquals("verified", report.get("verdict").asText(), report.toString());
            assertTrue(moved.err().contains("QEMU process " + atDr.pid() + " shut down in"), moved.err());
            assertFalse(atDr.isAlive(), "the VM no longer runs at DR");
            OpenSshServer.awaitReceiversEnded(dir);
        }
        byte[] last = new byte[64 << 10];
        try (RandomAccessFile f = new RandomAccessFile(web.toFile(), "r")) {
            f.seek(31 << 20);
            f.readFully(last);
        }
        for (byte b : last) {
            assertEquals(0x6b, b & 0xff, "the last write at DR is in the original disk");
        }
        assertTrue(QemuMachine.in(original.resolve(".standin-vms/web/failover")).process().isPresent(),
                "the VM runs at the original site");
        Cli.Result cleanup = Cli.run("failover", "web", "--cleanup", "--discard", "--root", original.toString());
        assertEquals(0, cleanup.exit(), cleanup.err());
    }

    private void reverse(Path original, Path replicas, Path web) throws Exception {

        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            Cli.Result reverse = Cli.run("reverse", "web", "--root", replicas.toString(), "--json",
                    "--to", sshd.url(original) + "/", "-i", sshd.clientKey().toString(),
                    "--known-hosts", sshd.knownHosts().toString(), "--ssh-config", "none",
                    "--remote-standin", sshd.launcher().toString(), "--state-dir", dir.resolve("state-b").toString());
            assertEquals(0, reverse.exit(), reverse.err() + reverse.out());
            JsonNode stats = new ObjectMapper().readTree(reverse.out().lines().findFirst().orElseThrow());
            assertFalse(stats.get("firstCopy").asBoolean(), stats.toString());
            assertTrue(stats.get("wireBytes").asLong() < (2 << 20), "a delta, not the 32 MiB disk: " + stats);
            assertTrue(reverse.err().contains("VM web is at VM point 1"), reverse.err());
            OpenSshServer.awaitReceiversEnded(dir);
        }
        byte[] written = new byte[64 << 10];
        try (RandomAccessFile f = new RandomAccessFile(web.toFile(), "r")) {
            f.seek(30 << 20);
            f.readFully(written);
        }
        for (byte b : written) {
            assertEquals(0x5a, b & 0xff);
        }
        Path guestView = dir.resolve("guest.raw");
        Images.run("qemu-img", "convert", "-U", "-O", "raw", replicas.resolve(".standin-vms/web/failover/web.img.qcow2")
                .toString(), guestView.toString());
        assertEquals(Images.sha256(guestView), Images.sha256(web), "the original disk is the guest's disk now");
        assertEquals(1, new VmPoints(original, "web").list().size(), "the original site has a VM point to fail back to");
    }
}
