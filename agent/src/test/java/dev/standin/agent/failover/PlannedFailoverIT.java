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
import dev.standin.failure.StandinException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin failover VM --planned} from the source host's configuration, over SSH to the
 * replica host's receiver: the guest is powered off through its agent, the last cycle carries what
 * it wrote after the last scheduled one, and the replica host starts that VM point. One libvirtd
 * plays both hosts here, so the replica host's domain (the replicated definition: same name and
 * UUID) takes the place of the source's, as it would in a failback.
 */
class PlannedFailoverIT {

    private static Libvirtd libvirtd;

    @TempDir
    Path dir;

    @BeforeAll
    static void startLibvirtd() throws Exception {
        libvirtd = Libvirtd.start();
    }

    @AfterAll
    static void stopLibvirtd() throws Exception {
        if (libvirtd != null) {
            libvirtd.close();
        }
    }

    @AfterEach
    void nothingLeft() throws Exception {
        for (String d : libvirtd.virsh.run("list", "--all", "--name").lines().map(String::strip)
                .filter(n -> n.startsWith("standin-it-move")).toList()) {
            try {
                libvirtd.virsh.run("destroy", d);
            } catch (StandinException notRunning) {
                // defined only
            }
            libvirtd.virsh.run("undefine", d);
        }
        OpenSshServer.awaitReceiversEnded(dir);
    }

    @Test
    void aPlannedMoveLosesNothingAndStartsTheLastPointOnTheReplicaHost() throws Exception {
        String domain = "standin-it-move";
        Path data = define(domain, "agent.img");
        libvirtd.virsh.run("autostart", domain);
        libvirtd.virsh.run("start", domain);
        awaitGuestAgent(domain);
        // Written after the last scheduled cycle, just before the move: it must arrive.
        assertEquals("", libvirtd.virsh.run("qemu-monitor-command", domain, "--hmp", "qemu-io -d "
                + "/machine/peripheral/virtio-disk1/virtio-backend \"write -P 0x77 0 1M\"").strip());
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            Path config = config(domain, sshd, replicas);
            String doctor = Cli.run("doctor", "-c", config.toString()).out();
            assertTrue(doctor.contains("move domain: " + domain + " at qemu:///system; disks " + dir.resolve("boot.img")
                    + ", " + data), "the disks a cycle protects, found from the domain: " + doctor);
            Cli.Result moved = Cli.run("failover", "move", "--planned", "-c", config.toString(), "--json",
                    "--timeout", "3m");
            assertEquals(0, moved.exit(), moved.err() + moved.out());
            JsonNode report = moved.json();
            assertEquals("verified", report.get("verdict").asText(), report.toString());
            assertTrue(report.get("running").asBoolean());
            assertTrue(moved.err().contains("domain " + domain + " shut down in"), moved.err());
            assertTrue(moved.err().contains("autostart of domain " + domain + " is off"), moved.err());
            long point = report.get("point").asLong();
            assertEquals(point, new VmPoints(replicas, "move").list().get(0).id(), "the last cycle's VM point");

            assertEquals(0x77, firstByte(replicas.resolve("data.qcow2")), "the guest's last write is in the replica");
            assertEquals(Images.sha256(FailoverIT.IMAGES.resolve("agent.img")), Images.sha256(replicas.resolve("boot.img")));
            String disks = libvirtd.virsh.run("domblklist", domain);
            assertTrue(disks.contains(replicas.resolve(".standin-vms/move/failover/data.qcow2.qcow2").toString()),
                    "the domain runs on the replica host's overlays: " + disks);
            assertEquals("running", libvirtd.virsh.run("domstate", domain).strip());

            Cli.Result cleanup = Cli.run("failover", "move", "--cleanup", "--discard", "--root", replicas.toString());
            assertEquals(0, cleanup.exit(), cleanup.err());
        }
        assertTrue(Files.exists(data));
    }

    @Test
    void aGuestThatIgnoresTheShutdownKeepsRunningAndNothingMoves() throws Exception {
        String domain = "standin-it-move-stubborn";
        define(domain, "plain.img"); // no guest agent, no ACPI handling: it never powers off
        libvirtd.virsh.run("start", domain);
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            Cli.Result refused = Cli.run("failover", "move", "--planned", "-c",
                    config(domain, sshd, replicas).toString(), "--shutdown-timeout", "5s");
            assertEquals(ExitStatus.SOURCE.code(), refused.exit(), refused.err());
            assertTrue(refused.err().contains("domain " + domain + " did not shut down within 5 s"), refused.err());
        }
        assertEquals("running", libvirtd.virsh.run("domstate", domain).strip());
        assertFalse(Files.exists(replicas.resolve(".standin-vms")), "no cycle ran");
    }

    /** A domain with a raw boot disk ({@code image}) and a qcow2 data disk, as the source host has it. */
    private Path define(String domain, String image) throws Exception {
        Path boot = Files.copy(FailoverIT.IMAGES.resolve(image), dir.resolve("boot.img"));
        Path data = dir.resolve("data.qcow2");
        Images.run("qemu-img", "create", "-q", "-f", "qcow2", data.toString(), "64M");
        Path xml = dir.resolve("domain.xml");
        Files.writeString(xml, "<domain type='qemu'><name>" + domain + "</name><memory unit='MiB'>256</memory>"
                + "<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>"
                // QEMU runs as root here: the test's files are in a mode-700 directory
                + "<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel><devices>"
                + "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='" + boot + "'/>"
                + "<target dev='vda' bus='virtio'/></disk>"
                + "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='" + data + "'/>"
                + "<target dev='vdb' bus='virtio'/></disk>"
                + "<serial type='pty'><target port='0'/></serial>"
                + "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
                + "</devices></domain>");
        libvirtd.virsh.run("define", xml.toString());
        return data;
    }

    /** The source host's standin.yaml: the domain, its disks found from it, one target over SSH. */
    private Path config(String domain, OpenSshServer sshd, Path replicas) throws Exception {
        Path config = dir.resolve("standin.yaml");
        Files.writeString(config, String.join("\n",
                "state-dir: " + dir.resolve("state"),
                "identity: " + sshd.clientKey(),
                "known-hosts: " + sshd.knownHosts(),
                "ssh-config: none",
                "remote-standin: " + sshd.launcher(),
                "vms:",
                "  move:",
                "    libvirt: " + domain,
                "    targets:",
                "      - dest: " + sshd.url(replicas) + "/",
                "        rpo: 1h",
                ""));
        return config;
    }

    private static void awaitGuestAgent(String domain) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (true) {
            try {
                libvirtd.virsh.run("qemu-agent-command", domain, "{\"execute\":\"guest-ping\"}");
                return;
            } catch (StandinException notYet) {
                if (System.nanoTime() > deadline) {
                    throw notYet;
                }
                Thread.sleep(500);
            }
        }
    }

    private static int firstByte(Path file) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            return f.read();
        }
    }
}
