package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.libvirt.LibvirtHook;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code libvirt:DOMAIN} hook against a real libvirtd: a running domain's raw and qcow2 disks
 * viewed at one instant through libvirt's backup API while the guest's disk is written, a shut-off
 * domain's disks through qemu-nbd (the domain cannot start meanwhile), a cycle of both over SSH,
 * and nothing left behind after a failure at any step. QEMU runs as libvirt's own user here, as
 * on a real host, so the hook's directory must be given to it.
 */
class LibvirtSnapshotIT {

    private static Libvirtd libvirtd;

    @TempDir
    Path dir;
    private String domain;
    private Path boot;
    private Path data;
    private List<Path> runtimeBefore;

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

    @BeforeEach
    void defineDomain() throws Exception {
        runtimeBefore = runtime();
        // QEMU (libvirt-qemu) must reach the images: libvirt gives it the files, not the directories.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        domain = "standin-snap-" + ProcessHandle.current().pid() + "-" + dir.getFileName().toString().hashCode();
        boot = Files.copy(FailoverIT.IMAGES.resolve("agent.img"), dir.resolve("boot.img"));
        data = dir.resolve("data.qcow2");
        Images.run("qemu-img", "create", "-q", "-f", "qcow2", data.toString(), "64M");
        Images.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 1M", data.toString());
        Path xml = dir.resolve("domain.xml");
        Files.writeString(xml, "<domain type='qemu'><name>" + domain + "</name><memory unit='MiB'>256</memory>"
                + "<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os><devices>"
                + "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='" + boot + "'/>"
                + "<target dev='vda' bus='virtio'/></disk>"
                + "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='" + data + "'/>"
                + "<target dev='vdb' bus='virtio'/></disk>"
                + "<serial type='pty'><target port='0'/></serial></devices></domain>");
        libvirtd.virsh.run("define", xml.toString());
    }

    @AfterEach
    void removeDomain() throws Exception {
        try {
            libvirtd.virsh.run("destroy", domain);
        } catch (StandinException notRunning) {
            // it was shut off
        }
        libvirtd.virsh.run("undefine", domain);
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            List<ProcessHandle> left = all.filter(p -> p.info().commandLine().map(c -> c.contains("qemu-nbd")
                    && c.contains(dir.toString())).orElse(false)).toList();
            left.forEach(ProcessHandle::destroyForcibly);
            assertEquals(List.of(), left, "qemu-nbd left behind");
        }
    }

    @Test
    void aRunningDomainsDisksAreFrozenAtOneInstantWhileTheGuestWrites() throws Exception {
        libvirtd.virsh.run("start", domain);
        HookContext context = context(HookContext.Checkpoints.NONE);
        List<Snapshot> views = new LibvirtHook(domain, Virsh.DEFAULT_URI, context).takeAll(List.of(boot, data),
                List.of("a", "b"));
        try {
            write(0x22); // after the instant: not in the view
            assertEquals(0x11, firstByteOf(views.get(1)), "the qcow2 disk as it was when the backup began");
            assertEquals(Images.sha256(FailoverIT.IMAGES.resolve("agent.img")), Images.sha256(copyOf(views.get(0))),
                    "the raw disk read through the same job");
            assertTrue(job().contains("Backup"), job());
        } finally {
            for (Snapshot view : views) {
                view.close();
            }
        }
        assertNothingLeft(context);
        Images.run("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", data.toString(),
                dir.resolve("now.raw").toString());
        assertEquals(0x22, firstByte(dir.resolve("now.raw")), "the guest's write went to its disk");
    }

    @Test
    void aShutOffDomainIsReadThroughQemuNbdAndCannotStartMeanwhile() throws Exception {
        HookContext context = context(HookContext.Checkpoints.NONE);
        List<Snapshot> views = new LibvirtHook(domain, Virsh.DEFAULT_URI, context).takeAll(List.of(data, boot),
                List.of("b", "a"));
        try {
            assertEquals(0x11, firstByteOf(views.get(0)), "in the order of the SOURCEs");
            StandinException refused = assertThrows(StandinException.class, () -> libvirtd.virsh.run("start", domain));
            assertTrue(refused.getMessage().contains("lock"), refused.getMessage());
        } finally {
            for (Snapshot view : views) {
                view.close();
            }
        }
        assertNothingLeft(context);
        libvirtd.virsh.run("start", domain);
    }

    @Test
    void aFailureAtAnyStepLeavesNoJobServerOrFile() throws Exception {
        for (boolean running : new boolean[] {true, false}) {
            if (running) {
                libvirtd.virsh.run("start", domain);
            } else {
                libvirtd.virsh.run("destroy", domain);
            }
            List<String> steps = running ? List.of("libvirt.recorded", "libvirt.backup-begun")
                    : List.of("libvirt.recorded", "libvirt.served");
            for (String step : steps) {
                HookContext context = context(reached -> {
                    if (reached.equals(step)) {
                        throw new SnapshotException("injected at " + step, false);
                    }
                });
                SnapshotException e = assertThrows(SnapshotException.class, () -> new LibvirtHook(domain,
                        Virsh.DEFAULT_URI, context).takeAll(List.of(boot, data), List.of("a", "b")));
                assertEquals("injected at " + step, e.getMessage());
                assertNothingLeft(context);
            }
        }
    }

    @Test
    void aSourceThatIsNotADiskOfTheDomainIsRefusedByName() {
        SnapshotException e = assertThrows(SnapshotException.class, () -> new LibvirtHook(domain, Virsh.DEFAULT_URI,
                context(HookContext.Checkpoints.NONE)).takeAll(List.of(dir.resolve("other.img")), List.of("a")));
        assertTrue(e.isPermanent());
        assertTrue(e.getMessage().contains("other.img is not a disk of domain " + domain + " (its disks: vda="),
                e.getMessage());
        SnapshotException gone = assertThrows(SnapshotException.class, () -> new LibvirtHook("no-such-domain",
                Virsh.DEFAULT_URI, context(HookContext.Checkpoints.NONE)).takeAll(List.of(boot), List.of("a")));
        assertTrue(gone.isPermanent());
        assertTrue(gone.getMessage().startsWith("domain no-such-domain is gone"), gone.getMessage());
    }

    /** {@code standin sync --snapshot libvirt:DOMAIN} of both disks of the running domain, over SSH. */
    @Test
    void bothDisksOfARunningDomainGoToAnotherHostInOneCycle() throws Exception {
        libvirtd.virsh.run("start", domain);
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            List<String> args = new ArrayList<>(List.of("sync", "--snapshot", "libvirt:" + domain, "--state-dir",
                    dir.resolve("state").toString(), boot.toString(), data.toString(), sshd.url(replicas) + "/"));
            args.addAll(sshd.sshArgs());
            Cli.Result sync = Cli.run(args.toArray(String[]::new));
            assertEquals(0, sync.exit(), sync.err() + sync.out());
            OpenSshServer.awaitReceiversEnded(dir);
        }
        assertEquals(Images.sha256(boot), Images.sha256(replicas.resolve("boot.img")));
        Path guest = dir.resolve("guest.raw");
        Images.run("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", data.toString(), guest.toString());
        assertEquals(Images.sha256(guest), Images.sha256(replicas.resolve("data.qcow2")),
                "the replica is the guest-visible disk, raw");
        assertFalse(job().contains("Backup"), "the backup job ended: " + job());
    }

    private HookContext context(HookContext.Checkpoints checkpoints) {
        return new HookContext(dir.resolve("state"), new CommandRunner(), new StaleSnapshots(dir.resolve("state")),
                Duration.ofSeconds(60), Optional.empty(), checkpoints);
    }

    private void assertNothingLeft(HookContext context) throws Exception {
        assertEquals(List.of(), context.registry().all(), "no snapshot record");
        assertFalse(job().contains("Backup"), "no backup job: " + job());
        assertEquals(runtimeBefore, runtime(), "no directory left in " + LibvirtHook.RUNTIME);
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            assertEquals(List.of(), all.filter(p -> p.info().commandLine().map(c -> c.contains("qemu-nbd")
                    && c.contains(dir.toString())).orElse(false)).toList(), "no qemu-nbd");
        }
    }

    /** {@code virsh domjobinfo}, or nothing for a domain that does not run. */
    private String job() throws Exception {
        return libvirtd.virsh.run("domstate", domain).strip().equals("running") ? libvirtd.virsh.run("domjobinfo", domain)
                : "";
    }

    private static List<Path> runtime() throws Exception {
        try (Stream<Path> entries = Files.exists(LibvirtHook.RUNTIME) ? Files.list(LibvirtHook.RUNTIME) : Stream.empty()) {
            return entries.sorted().toList();
        }
    }

    /** A guest write of 1 MiB of {@code pattern} at 0 on vdb, through the VM's own device. */
    private void write(int pattern) throws Exception {
        String out = libvirtd.virsh.run("qemu-monitor-command", domain, "--hmp", "qemu-io -d "
                + "/machine/peripheral/virtio-disk1/virtio-backend \"write -P " + pattern + " 0 1M\"");
        assertEquals("", out.strip(), "qemu-io says nothing when it wrote");
    }

    private Path copyOf(Snapshot view) throws Exception {
        Path copy = Files.createTempFile(dir, "view", ".raw");
        Images.run("qemu-img", "convert", "-f", "raw", "-O", "raw", view.export().orElseThrow().toString(),
                copy.toString());
        return copy;
    }

    private int firstByteOf(Snapshot view) throws Exception {
        return firstByte(copyOf(view));
    }

    private static int firstByte(Path file) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            return f.read();
        }
    }
}
