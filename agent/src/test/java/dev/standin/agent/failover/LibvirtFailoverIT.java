package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.engine.CycleReport;
import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.replica.InUse;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.vm.VmPoint;
import dev.standin.failure.StandinException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failover through a real libvirtd: the source host's domain definition travels with each VM
 * point, and the replica host starts it from its overlays (a test beside production under
 * another name, on an isolated network), or refuses with libvirt's own reason.
 */
class LibvirtFailoverIT {

    static Libvirtd libvirtd;

    @TempDir
    Path dir;

    static boolean libvirtdWasRunning;

    @BeforeAll
    static void startLibvirtd() throws Exception {
        libvirtd = Libvirtd.start();
        libvirtdWasRunning = !libvirtd.started();
    }

    @AfterAll
    static void stopLibvirtd() throws Exception {
        boolean started = !libvirtdWasRunning;
        libvirtd.close();
        if (started) {
            String rules = Images.run("iptables-save");
            assertFalse(rules.contains("LIBVIRT_"), "libvirtd's firewall chains are left behind: " + rules);
        }
    }

    /** No domain or network a test made outlives it. */
    @AfterEach
    void nothingLeft() throws Exception {
        List<String> domains = libvirtd.virsh.run("list", "--all", "--name").lines().map(String::strip)
                .filter(n -> n.startsWith("standin-it-")).toList();
        for (String d : domains) {
            try {
                libvirtd.virsh.run("destroy", d);
            } catch (StandinException notRunning) {
                // defined only
            }
            libvirtd.virsh.run("undefine", d);
        }
        assertEquals(List.of(), domains.stream().filter(d -> d.contains("standin-test") || !d.endsWith("-src"))
                .toList(), "domains left behind");
        assertThrows(StandinException.class, () -> libvirtd.virsh.run("net-info", LibvirtMachine.ISOLATED),
                "the isolated network is gone");
    }

    @Test
    void aTestFailoverRunsTheReplicatedDomainIsolatedAndLeavesNothing() throws Exception {
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        Path source = copy("agent.img", "web.img");
        define("standin-it-web-src", source, "<interface type='bridge'><mac address='52:54:00:aa:bb:cc'/>"
                + "<source bridge='standin-nobr0'/><model type='virtio'/></interface>");
        CycleReport cycle = cycle("web", "standin-it-web-src", replicas, source);
        assertTrue(cycle.vmPoint().orElseThrow().libvirt().orElseThrow().contains("standin-nobr0"));
        String before = Images.sha256(replicas.resolve("web.img"));

        Cli.Result test = Cli.run("failover", "web", "--test", "--json", "--root", replicas.toString(),
                "--state-dir", dir.resolve("state").toString());
        assertEquals(0, test.exit(), test.err() + test.out());
        JsonNode json = test.json();
        assertEquals("verified", json.get("verdict").asText(), json.toString());
        assertEquals(before, Images.sha256(replicas.resolve("web.img")));
        assertFalse(Files.exists(InUse.markOf(replicas.resolve("web.img"))));

        // A real failover here meets the source host's bridge, which this host lacks: libvirt says so,
        // and nothing is left started or marked.
        libvirtd.virsh.run("undefine", "standin-it-web-src");
        Cli.Result real = Cli.run("failover", "web", "--root", replicas.toString(), "--state-dir",
                dir.resolve("state").toString());
        assertEquals(4, real.exit(), real.err());
        assertTrue(real.err().contains("standin-nobr0"), real.err());
        assertFalse(Files.exists(InUse.markOf(replicas.resolve("web.img"))));
        assertFalse(Files.exists(replicas.resolve(".standin-vms/web/failover")));
    }

    @Test
    void aRealFailoverDefinesTheDomainUnderItsOwnNameAndReplicatesBackUntilCleanedUp() throws Exception {
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        Path source = copy("agent.img", "db.img");
        define("standin-it-db", source, "");
        assertTrue(cycle("db", "standin-it-db", replicas, source).succeeded());
        libvirtd.virsh.run("undefine", "standin-it-db"); // the source host is gone

        Cli.Result started = Cli.run("failover", "db", "--json", "--root", replicas.toString(), "--state-dir",
                dir.resolve("state").toString());
        assertEquals(0, started.exit(), started.err() + started.out());
        assertEquals("verified", started.json().get("verdict").asText());
        assertEquals("running", libvirtd.virsh.run("domstate", "standin-it-db").strip());
        assertTrue(libvirtd.virsh.run("dominfo", "standin-it-db").contains("Persistent:     yes"));
        Cli.Result promote = Cli.run("failover", "db", "--promote", "--root", replicas.toString());
        assertEquals(0, promote.exit(), promote.err());
        String info = Images.run("qemu-img", "info", "-U", "--output=json",
                replicas.resolve(".standin-vms/db/failover/db.img.qcow2").toString());
        assertFalse(info.contains("backing-filename"), "a whole disk, reading no replica: " + info);

        // The VM writes at DR, through its own disk (past the boot files: it boots again at the end);
        // 'reverse' brings its disk back (the domain's
        // disks viewed through libvirt's backup API) as a delta against the original disk.
        assertEquals("", libvirtd.virsh.run("qemu-monitor-command", "standin-it-db", "--hmp", "qemu-io -d "
                + "/machine/peripheral/virtio-disk0/virtio-backend \"write -P 0x5a 30M 64k\"").strip());
        Cli.Result reverse = Cli.run("reverse", "db", "--root", replicas.toString(), "--json", "--to",
                source.getParent() + "/", "--state-dir", dir.resolve("state").toString());
        assertEquals(0, reverse.exit(), reverse.err() + reverse.out());
        assertFalse(reverse.json().get("firstCopy").asBoolean(), reverse.out());
        // What the guest sees: the image it booted with and its write (a running qcow2 is not read
        // from outside: QEMU holds its metadata).
        Path guest = Files.copy(FailoverIT.IMAGES.resolve("agent.img"), dir.resolve("guest.raw"));
        Images.run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 30M 64k", guest.toString());
        assertEquals(Images.sha256(guest), Images.sha256(source), "the original disk is the guest's disk now");
        assertFalse(libvirtd.virsh.run("domjobinfo", "standin-it-db").contains("Backup"), "the backup job ended");

        // The way back as a planned move: a last write at DR, the domain powered off, a last reverse,
        // and the original host's copy started from that VM point (one libvirtd plays both hosts).
        assertEquals("", libvirtd.virsh.run("qemu-monitor-command", "standin-it-db", "--hmp", "qemu-io -d "
                + "/machine/peripheral/virtio-disk0/virtio-backend \"write -P 0x6b 31M 64k\"").strip());
        Cli.Result back;
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            List<String> args = new java.util.ArrayList<>(List.of("reverse", "db", "--planned", "--json", "--root",
                    replicas.toString(), "--to", sshd.url(source.getParent()) + "/", "--state-dir",
                    dir.resolve("state").toString(), "--boot-timeout", "3m"));
            args.addAll(sshd.sshArgs());
            back = Cli.run(args.toArray(String[]::new));
            OpenSshServer.awaitReceiversEnded(dir);
        }
        assertEquals(0, back.exit(), back.err() + back.out());
        assertEquals("verified", back.json().get("verdict").asText(), back.out());
        assertTrue(back.err().contains("domain standin-it-db shut down in"), back.err());
        Images.run("qemu-io", "-f", "raw", "-c", "write -P 0x6b 31M 64k", guest.toString());
        assertEquals(Images.sha256(guest), Images.sha256(source), "the last write at DR is in the original disk");
        assertTrue(libvirtd.virsh.run("domblklist", "standin-it-db").contains(source.getParent()
                .resolve(".standin-vms/db/failover/db.img.qcow2").toString()), "it runs at the original site now");
        Cli.Result atOrigin = Cli.run("failover", "db", "--cleanup", "--discard", "--root", source.getParent().toString());
        assertEquals(0, atOrigin.exit(), atOrigin.err());

        Cli.Result cleanup = Cli.run("failover", "db", "--cleanup", "--discard", "--root", replicas.toString());
        assertEquals(0, cleanup.exit(), cleanup.err());
        assertFalse(libvirtd.virsh.run("list", "--all", "--name").contains("standin-it-db"));
    }

    @Test
    void aDomainThatPanicsFailsItsCheck() throws Exception {
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        Path source = copy("panic.img", "crash.img");
        define("standin-it-crash-src", source, "");
        assertTrue(cycle("crash", "standin-it-crash-src", replicas, source).succeeded());
        Cli.Result test = Cli.run("failover", "crash", "--test", "--json", "--root", replicas.toString(),
                "--state-dir", dir.resolve("state").toString());
        assertEquals(10, test.exit(), test.err() + test.out());
        assertEquals("failed", test.json().get("verdict").asText());
        assertNotEquals(-1, test.json().get("reason").asText().indexOf("panic"), test.out());
    }

    /** The supervisor's cycle of a VM whose domain is gone fails at once, saying so, and is not retried in a storm. */
    @Test
    void aCycleOfAVmWhoseDomainVanishedFailsPermanentlyWithTheReason() throws Exception {
        Path source = copy("agent.img", "gone.img");
        var vm = new dev.standin.supervisor.config.SupervisorConfig.Vm("gone", List.of(
                new dev.standin.supervisor.config.SupervisorConfig.Disk(source.toString(), Optional.empty())),
                List.of(), Optional.empty(), Optional.of(new dev.standin.supervisor.config.SupervisorConfig.Libvirt(
                        "standin-it-gone", Virsh.DEFAULT_URI)));
        var target = new dev.standin.supervisor.config.SupervisorConfig.Target(dir.resolve("replicas") + "/",
                new dev.standin.supervisor.policy.TargetPolicy(new dev.standin.supervisor.policy.Cadence.Rpo(
                        java.time.Duration.ofHours(1)), java.time.Duration.ofHours(1), 3, Optional.empty(),
                        Optional.empty()),
                new dev.standin.supervisor.config.SupervisorConfig.SyncSettings(java.util.Map.of(), Optional.empty()));
        var result = new dev.standin.agent.supervise.TargetCycles(dir.resolve("state"), line -> { }, Optional.empty())
                .run(vm, target, dev.standin.supervisor.policy.Planner.Kind.SYNC, "0",
                        dev.standin.supervisor.CycleProgress.NONE);
        assertEquals(dev.standin.supervisor.policy.Outcome.PERMANENT, result.outcome());
        String error = result.error().orElseThrow();
        assertTrue(error.startsWith("VM gone's domain standin-it-gone: libvirt (qemu:///system): dumpxml: "), error);
        assertFalse(Files.exists(dir.resolve("replicas/gone.img")), "nothing was copied");
    }

    private Path copy(String image, String name) throws Exception {
        Files.createDirectories(dir.resolve("src"));
        return Files.copy(FailoverIT.IMAGES.resolve(image), dir.resolve("src").resolve(name));
    }

    /** Defines (does not start) a domain on {@code disk}, as the source host would have it. */
    private void define(String name, Path disk, String nic) throws Exception {
        Path xml = dir.resolve(name + ".xml");
        Files.writeString(xml, "<domain type='qemu'><name>" + name + "</name><memory unit='MiB'>256</memory>"
                + "<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>"
                // QEMU runs as root here: the test's files are in a mode-700 directory
                + "<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>"
                + "<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='" + disk
                + "'/><target dev='vda' bus='virtio'/></disk>" + nic + "<serial type='pty'><target port='0'/></serial>"
                + "</devices></domain>");
        libvirtd.virsh.run("define", xml.toString());
    }

    private CycleReport cycle(String vm, String domain, Path replicas, Path source) throws Exception {
        CycleRequest.Disk disk = new CycleRequest.Disk(SyncOptions.builder(source, replicas.resolve(source.getFileName()))
                .stateDirectory(dir.resolve("state")).build(), Optional.empty());
        CycleReport report = new Replication(Progress.NONE, line -> { }, Optional.empty()).run(new CycleRequest(
                List.of(disk), Optional.empty(), false, Optional.of(new CycleRequest.Vm(vm, Optional.empty(),
                        Optional.of(libvirtd.virsh.definition(domain))))));
        VmPoint point = report.vmPoint().orElseThrow(() -> new AssertionError(report.toString()));
        assertTrue(point.libvirt().isPresent());
        return report;
    }
}
