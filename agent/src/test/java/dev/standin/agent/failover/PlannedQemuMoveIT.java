package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.vm.VmPoints;
import dev.standin.failure.ExitStatus;
import dev.standin.snapshot.qemu.GuestAgent;
import dev.standin.snapshot.qemu.QmpClient;
import dev.standin.snapshot.qemu.QmpException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin failover VM --planned} for a VM run by its own QEMU (no libvirt), from the source
 * host's configuration over SSH to the replica host's receiver: the guest is powered off through
 * its guest agent, the QEMU process ends, the last cycle reads the stopped raw and qcow2 images
 * through qemu-nbd, and the replica host starts that VM point from its launch spec.
 */
class PlannedQemuMoveIT {

    @TempDir
    Path dir;
    private Process qemu;

    @AfterEach
    void nothingLeft() throws Exception {
        if (qemu != null && qemu.isAlive()) {
            qemu.destroyForcibly();
            qemu.waitFor(10, TimeUnit.SECONDS);
        }
        OpenSshServer.awaitReceiversEnded(dir);
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            List<ProcessHandle> left = all.filter(p -> p.info().commandLine().map(c -> (c.contains("qemu-system")
                    || c.contains("qemu-nbd")) && c.contains(dir.toString())).orElse(false)).toList();
            left.forEach(ProcessHandle::destroyForcibly);
            assertEquals(List.of(), left, "QEMU or qemu-nbd processes left behind");
        }
    }

    @Test
    void aPlannedMoveOfAQemuVmLosesNothingAndStartsTheLastPointOnTheReplicaHost() throws Exception {
        Path data = start("agent.img", true);
        awaitGuestAgent();
        guestWrite("write -P 0x77 0 1M"); // after the last scheduled cycle, just before the move
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            Cli.Result moved = Cli.run("failover", "plain", "--planned", "-c", config(sshd, replicas, true).toString(),
                    "--json", "--timeout", "3m");
            assertEquals(0, moved.exit(), moved.err() + moved.out());
            JsonNode report = moved.json();
            assertEquals("verified", report.get("verdict").asText(), report.toString());
            assertTrue(report.get("running").asBoolean());
            assertTrue(moved.err().contains("QEMU process " + qemu.pid() + " shut down in"), moved.err());
            assertTrue(qemu.waitFor(10, TimeUnit.SECONDS), "the source QEMU has ended");
            assertEquals(0, qemu.exitValue(), "its guest powered off");
            assertEquals(report.get("point").asLong(), new VmPoints(replicas, "plain").list().get(0).id());

            assertEquals(0x77, firstByte(replicas.resolve("data.qcow2")), "the guest's last write is in the replica");
            assertEquals(Images.sha256(FailoverIT.IMAGES.resolve("agent.img")), Images.sha256(replicas.resolve("boot.img")));
            Images.run("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw", data.toString(),
                    replicas.resolve("data.qcow2").toString());

            Cli.Result cleanup = Cli.run("failover", "plain", "--cleanup", "--discard", "--root", replicas.toString());
            assertEquals(0, cleanup.exit(), cleanup.err());
        }
    }

    @Test
    void aFailedLastCycleLeavesTheVmOffAndSaysHowItRan() throws Exception {
        start("agent.img", true);
        awaitGuestAgent();
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        Files.createDirectories(replicas.resolve("data.qcow2")); // where the replica file belongs: the cycle fails
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            Cli.Result failed = Cli.run("failover", "plain", "--planned", "-c", config(sshd, replicas, true).toString());
            assertTrue(failed.exit() != 0, failed.err());
            assertTrue(failed.err().contains("the VM stays shut off here: standin does not start QEMU itself; start it "
                    + "as it ran before: qemu-system-x86_64 -name plain"), failed.err());
            assertTrue(qemu.waitFor(10, TimeUnit.SECONDS), "the source QEMU has ended");
            assertFalse(Files.exists(replicas.resolve(".standin-vms/plain/failover")), "nothing started there");
        }
    }

    @Test
    void aGuestThatIgnoresTheShutdownKeepsRunningAndADiskQemuHasNotOpenIsRefused() throws Exception {
        start("plain.img", false); // no guest agent, no ACPI handling: it never powers off
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            Cli.Result refused = Cli.run("failover", "plain", "--planned", "-c",
                    config(sshd, replicas, false).toString(), "--shutdown-timeout", "5s");
            assertEquals(ExitStatus.SOURCE.code(), refused.exit(), refused.err());
            assertTrue(refused.err().contains("QEMU process " + qemu.pid() + " did not shut down within 5 s of being "
                    + "asked (through the ACPI power button)"), refused.err());
            assertTrue(qemu.isAlive());

            Files.writeString(dir.resolve("standin.yaml"), Files.readString(dir.resolve("standin.yaml"))
                    .replace(dir.resolve("data.qcow2").toString(), dir.resolve("other.qcow2").toString()));
            Cli.Result notOpen = Cli.run("failover", "plain", "--planned", "-c", dir.resolve("standin.yaml").toString());
            assertEquals(ExitStatus.USAGE.code(), notOpen.exit(), notOpen.err());
            assertTrue(notOpen.err().contains(dir.resolve("other.qcow2") + " is not open in the QEMU at "
                    + dir.resolve("vm.qmp")), notOpen.err());
        }
        assertTrue(qemu.isAlive(), "still running");
        assertFalse(Files.exists(replicas.resolve(".standin-vms")), "no cycle ran");
    }

    /** QEMU with a raw boot disk ({@code image}, node disk0) and a qcow2 data disk (disk1), as the source host runs it. */
    private Path start(String image, boolean guestAgent) throws Exception {
        Path boot = Files.copy(FailoverIT.IMAGES.resolve(image), dir.resolve("boot.img"));
        Path data = dir.resolve("data.qcow2");
        Images.run("qemu-img", "create", "-q", "-f", "qcow2", data.toString(), "64M");
        List<String> command = new ArrayList<>(List.of("qemu-system-x86_64", "-name", "plain",
                "-machine", "q35,accel=tcg", "-m", "256", "-nodefaults", "-display", "none", "-no-user-config",
                "-serial", "file:" + dir.resolve("console.log"),
                "-qmp", "unix:" + dir.resolve("vm.qmp") + ",server=on,wait=off",
                "-blockdev", "driver=file,filename=" + boot + ",node-name=disk0-file",
                "-blockdev", "driver=raw,file=disk0-file,node-name=disk0",
                "-device", "virtio-blk-pci,drive=disk0,bootindex=0",
                "-blockdev", "driver=file,filename=" + data + ",node-name=disk1-file",
                "-blockdev", "driver=qcow2,file=disk1-file,node-name=disk1",
                "-device", "virtio-blk-pci,drive=disk1,id=vd1"));
        if (guestAgent) {
            command.addAll(List.of("-chardev", "socket,id=qga0,path=" + dir.resolve("vm.qga") + ",server=on,wait=off",
                    "-device", "virtio-serial", "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"));
        }
        qemu = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(dir.resolve("vm.qmp"))) {
            assertTrue(qemu.isAlive() && System.nanoTime() < deadline, Files.readString(dir.resolve("qemu.log")));
            Thread.sleep(50);
        }
        return data;
    }

    /** The source host's standin.yaml: the VM's disks viewed through its monitor, one target over SSH. */
    private Path config(OpenSshServer sshd, Path replicas, boolean guestAgent) throws Exception {
        String view = "qemu:" + dir.resolve("vm.qmp") + ":disk0,disk1" + (guestAgent ? ":" + dir.resolve("vm.qga") : "");
        Path config = dir.resolve("standin.yaml");
        Files.writeString(config, String.join("\n",
                "state-dir: " + dir.resolve("state"),
                "identity: " + sshd.clientKey(),
                "known-hosts: " + sshd.knownHosts(),
                "ssh-config: none",
                "remote-standin: " + sshd.launcher(),
                "vms:",
                "  plain:",
                "    qemu: {memory: 256M, cpus: 1}",
                "    disks:",
                "      - source: " + dir.resolve("boot.img"),
                "        snapshot: " + view,
                "      - source: " + dir.resolve("data.qcow2"),
                "        snapshot: " + view,
                "    targets:",
                "      - dest: " + sshd.url(replicas) + "/",
                "        rpo: 1h",
                ""));
        return config;
    }

    private void awaitGuestAgent() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            try (GuestAgent agent = GuestAgent.connect(dir.resolve("vm.qga"), Duration.ofSeconds(2))) {
                agent.ping();
                return;
            } catch (QmpException notYet) {
                assertTrue(System.nanoTime() < deadline, "the guest agent never answered: " + notYet.getMessage());
                Thread.sleep(500);
            }
        }
    }

    /** A write to the data disk as the guest would make it (HMP qemu-io), then the monitor is let go. */
    private void guestWrite(String io) throws Exception {
        try (QmpClient qmp = QmpClient.connect(dir.resolve("vm.qmp"), Duration.ofSeconds(10))) {
            assertEquals("", qmp.human("qemu-io -d /machine/peripheral/vd1/virtio-backend \"" + io + "\"").strip());
        }
    }

    private static int firstByte(Path file) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            return f.read();
        }
    }
}
