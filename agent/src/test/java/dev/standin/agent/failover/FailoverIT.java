package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.agent.transport.SshOptions;
import dev.standin.agent.vm.QemuLaunch;
import dev.standin.agent.vm.VmPoint;
import dev.standin.agent.vm.VmPoints;
import dev.standin.failure.ExitStatus;
import dev.standin.snapshot.qemu.QmpClient;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failover of VMs replicated by the engine, started with a real QEMU (TCG) from the bootable
 * disks of install/test-image.sh: a guest with the QEMU guest agent, one without, one that panics.
 */
class FailoverIT {

    static final Path IMAGES = Path.of("/var/cache/standin/test-image");
    static final QemuLaunch SMALL = new QemuLaunch(256L << 20, 1, "q35");

    @TempDir
    static Path shared;

    static OpenSshServer sshd;

    @TempDir
    Path dir;

    @BeforeAll
    static void imagesAndSshd() throws Exception {
        for (String image : List.of("agent.img", "plain.img", "panic.img")) {
            if (!Files.exists(IMAGES.resolve(image))) {
                fail(IMAGES.resolve(image) + " is missing: run install/setup-debian.sh (it runs install/test-image.sh)");
            }
        }
        sshd = OpenSshServer.start(shared.resolve("sshd"), null);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        sshd.close();
    }

    /** No VM a test started outlives it, whatever the test asserted. */
    @AfterEach
    void noVmLeft() {
        List<ProcessHandle> left = qemus();
        left.forEach(ProcessHandle::destroyForcibly);
        assertEquals(List.of(), left.stream().map(p -> p.info().commandLine().orElse("?")).toList(),
                "QEMU processes left behind");
    }

    @Test
    void aTwoDiskVmReplicatedOverSshIsTestFailedOverFromItsNewestPointAndVerified() throws Exception {
        Path web = copy("agent.img", dir.resolve("src/web.img"));
        Path data = dir.resolve("src/data.img");
        Images.createRandom(data, 8 << 20, 7);
        Path replicas = Files.createDirectories(dir.resolve("replicas/web"));
        CycleReport report = remoteCycle("web", replicas, web, data);
        assertTrue(report.succeeded(), report.toString());
        VmPoint point = report.vmPoint().orElseThrow();
        assertEquals(1, point.id());
        assertEquals(List.of("web.img", "data.img"), point.disks().stream().map(VmPoint.Disk::replica).toList());
        String before = Images.sha256(replicas.resolve("web.img"));

        Cli.Result result = Cli.run("failover", "web", "--test", "--json", "--root", dir.resolve("replicas").toString(),
                "--timeout", "5m", "--state-dir", dir.resolve("state").toString());
        assertEquals(0, result.exit(), result.err() + result.out());
        JsonNode json = result.json();
        assertEquals("web", json.get("vm").asText());
        assertEquals(1, json.get("point").asLong());
        assertEquals("verified", json.get("verdict").asText(), json.toString());
        assertTrue(json.get("os").asText().contains("standin test guest"), json.toString());
        assertFalse(json.get("running").asBoolean());
        assertTrue(json.get("seconds").asDouble() > 0);

        assertEquals(before, Images.sha256(replicas.resolve("web.img")), "the point is never written");
        assertFalse(Files.exists(new VmPoints(replicas, "web").directory().resolve("failover")), "overlays removed");
        assertFalse(Files.exists(InUse.markOf(replicas.resolve("web.img"))), "replication may resume");
        assertTrue(Files.readString(new VmPoints(replicas, "web").directory().resolve("last-boot-check/console.log"))
                .contains("standin test guest (agent) is up"), "the console is kept as evidence");
        // and replication resumes at once
        assertTrue(remoteCycle("web", replicas, web, data).succeeded());
    }

    @Test
    void anOlderPointIsStartedFromACopyAndNoPointChanges() throws Exception {
        Path web = copy("agent.img", dir.resolve("src/web.img"));
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        assertTrue(localCycle("web", replicas, web).succeeded());
        scribble(web, 30L << 20); // beyond the filesystem's data: the guest still boots
        CycleReport second = localCycle("web", replicas, web);
        assertEquals(2, second.vmPoint().orElseThrow().id());
        String newest = Images.sha256(replicas.resolve("web.img"));

        Cli.Result result = Cli.run("failover", "web", "--test", "--json", "--point", "1", "--root", replicas.toString(),
                "--state-dir", dir.resolve("state").toString());
        assertEquals(0, result.exit(), result.err() + result.out());
        JsonNode json = result.json();
        assertEquals(1, json.get("point").asLong());
        assertEquals("verified", json.get("verdict").asText(), json.toString());
        assertTrue(json.get("disks").get(0).get("materialised").asBoolean(), json.toString());
        assertEquals(newest, Images.sha256(replicas.resolve("web.img")));
        Cli.Result points = Cli.run("points", replicas.resolve("web.img").toString(), "--json");
        assertEquals(0, points.exit(), points.err());
    }

    @Test
    void aGuestWithoutAnAgentIsHeuristicAndAPanickingOneFails() throws Exception {
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        assertTrue(localCycle("plain", replicas, copy("plain.img", dir.resolve("src/plain.img"))).succeeded());
        assertTrue(localCycle("panic", replicas, copy("panic.img", dir.resolve("src/panic.img"))).succeeded());

        Cli.Result plain = Cli.run("failover", "plain", "--test", "--json", "--root", replicas.toString(),
                "--state-dir", dir.resolve("state").toString());
        assertEquals(0, plain.exit(), plain.err() + plain.out());
        assertEquals("heuristic", plain.json().get("verdict").asText(), plain.out());

        Cli.Result panic = Cli.run("failover", "panic", "--test", "--json", "--root", replicas.toString(),
                "--state-dir", dir.resolve("state").toString());
        assertEquals(10, panic.exit(), panic.err() + panic.out());
        assertEquals("failed", panic.json().get("verdict").asText());
        assertTrue(panic.json().get("reason").asText().contains("panic"), panic.out());
        assertFalse(Files.exists(InUse.markOf(replicas.resolve("panic.img"))));
    }

    @Test
    void aRealFailoverKeepsRunningHoldsItsReplicasIsPromotedAndOnlyDiscardedOnRequest() throws Exception {
        Path web = copy("agent.img", dir.resolve("src/web.img"));
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        assertTrue(localCycle("web", replicas, web).succeeded());
        String root = replicas.toString();

        Cli.Result started = Cli.run("failover", "web", "--json", "--root", root, "--state-dir",
                dir.resolve("state").toString());
        assertEquals(0, started.exit(), started.err() + started.out());
        assertTrue(started.json().get("running").asBoolean());
        long pid = started.json().get("pid").asLong();
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the VM runs on after the command");

        CycleReport refused = localCycle("web", replicas, web);
        assertFalse(refused.succeeded());
        String why = refused.disks().get(0).failure().orElseThrow().getMessage();
        assertTrue(why.contains("in use by the failover of VM web"), why);
        assertFalse(refused.disks().get(0).failure().get().isPermanent(), "retried until the failover ends");

        Cli.Result again = Cli.run("failover", "web", "--test", "--root", root);
        assertEquals(2, again.exit(), again.err());
        assertTrue(again.err().contains("already failed over"), again.err());

        Cli.Result promote = Cli.run("failover", "web", "--promote", "--root", root);
        assertEquals(0, promote.exit(), promote.err());
        Path overlay = new VmPoints(replicas, "web").directory().resolve("failover/web.img.qcow2");
        String info = Images.run("qemu-img", "info", "-U", "--output=json", overlay.toString());
        assertFalse(info.contains("backing-filename"), "a whole disk, reading no replica: " + info);
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "it ran on while promoted");

        Cli.Result keep = Cli.run("failover", "web", "--cleanup", "--root", root);
        assertEquals(2, keep.exit(), keep.err());
        assertTrue(keep.err().contains("--discard"), keep.err());
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));

        Cli.Result discard = Cli.run("failover", "web", "--cleanup", "--discard", "--root", root);
        assertEquals(0, discard.exit(), discard.err());
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        assertTrue(localCycle("web", replicas, web).succeeded(), "the replica receives cycles again");
    }

    @Test
    void aCycleWithAFailedDiskMakesNoVmPointAndWrongNamesSayWhatThereIs() throws Exception {
        Path web = copy("agent.img", dir.resolve("src/web.img"));
        Path data = dir.resolve("src/data.img");
        Images.createRandom(data, 1 << 20, 3);
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        assertTrue(localCycle("web", replicas, web, data).succeeded());
        Files.delete(data);
        CycleReport torn = localCycle("web", replicas, web, data);
        assertFalse(torn.succeeded());
        assertTrue(torn.vmPoint().isEmpty());
        assertEquals(List.of(1L), new VmPoints(replicas, "web").list().stream().map(VmPoint::id).toList());

        Cli.Result list = Cli.run("failover", "web", "--list", "--root", replicas.toString());
        assertEquals(0, list.exit(), list.err());
        assertEquals(2, list.out().lines().count(), "a header and point 1: " + list.out());
        Cli.Result points = Cli.run("points", "web", "--json", "--root", replicas.toString());
        assertEquals(0, points.exit(), points.err());
        JsonNode listed = points.json().get("points");
        assertEquals(1, listed.size(), points.out());
        assertEquals("qemu 256M 1 CPU", listed.get(0).get("startsWith").asText());
        assertEquals(List.of("web.img", "data.img"), List.of(listed.get(0).get("disks").get(0).get("replica").asText(),
                listed.get(0).get("disks").get(1).get("replica").asText()));

        Cli.Result unknown = Cli.run("failover", "db", "--test", "--root", replicas.toString());
        assertEquals(4, unknown.exit());
        assertEquals("standin: no VM db under " + replicas + "; there are: web\n", unknown.err());
        Cli.Result noRoot = Cli.run("failover", "web", "--test", "--config", dir.resolve("none.yaml").toString());
        assertEquals(2, noRoot.exit(), noRoot.err());
        Cli.Result noSpec = Cli.run("failover", "web", "--point", "7", "--test", "--root", replicas.toString());
        assertEquals(2, noSpec.exit());
        assertTrue(noSpec.err().contains("has no point 7"), noSpec.err());
    }

    /**
     * A launch spec with UEFI and a NIC: a test boots it through OVMF without the NIC; a real failover
     * puts the NIC (its MAC kept) on the host bridge it names, and refuses a bridge the host lacks.
     * The bridge is the test's own, with no uplink.
     */
    @Test
    void aUefiVmWithANicGetsItsBridgeOnlyInARealFailover() throws Exception {
        String bridge = "stnbr" + (ProcessHandle.current().pid() % 100_000);
        QemuLaunch launch = new QemuLaunch(256L << 20, 1, "q35", QemuLaunch.Firmware.UEFI,
                List.of(new QemuLaunch.Nic(bridge, Optional.of("52:54:00:5e:01:01"), QemuLaunch.Nic.DEFAULT_MODEL)));
        Path web = copy("agent.img", dir.resolve("src/web.img"));
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        assertTrue(localCycle("web", replicas, launch, web).succeeded());
        String root = replicas.toString();
        String state = dir.resolve("state").toString();

        Cli.Result missing = Cli.run("failover", "web", "--root", root, "--state-dir", state);
        assertEquals(ExitStatus.DESTINATION.code(), missing.exit(), missing.err());
        assertTrue(missing.err().contains("belongs on bridge " + bridge + ", which this host does not have"),
                missing.err());
        assertFalse(Files.exists(new VmPoints(replicas, "web").directory().resolve("failover")), "nothing left");

        Images.run("ip", "link", "add", bridge, "type", "bridge");
        try {
            Cli.Result test = Cli.run("failover", "web", "--test", "--json", "--root", root, "--state-dir", state);
            assertEquals(0, test.exit(), test.err() + test.out());
            assertEquals("verified", test.json().get("verdict").asText(), test.out());
            assertTrue(test.err().contains("the test VM has no network card (VM web has 1)"), test.err());
            assertTrue(Files.readString(new VmPoints(replicas, "web").directory().resolve("last-boot-check/console.log"))
                    .contains("BdsDxe"), "booted by OVMF");

            Cli.Result real = Cli.run("failover", "web", "--json", "--root", root, "--state-dir", state);
            assertEquals(0, real.exit(), real.err() + real.out());
            assertEquals("verified", real.json().get("verdict").asText(), real.out());
            String ports = Images.run("ip", "-o", "link", "show", "master", bridge);
            assertTrue(ports.contains(QemuMachine.tap(new VmPoints(replicas, "web").directory().resolve("failover"), 0))
                    && ports.contains(",UP"), ports);
            try (QmpClient qmp = QmpClient.connect(new VmPoints(replicas, "web").directory()
                    .resolve("failover/qmp.sock"), java.time.Duration.ofSeconds(10))) {
                String network = qmp.human("info network");
                assertTrue(network.contains("macaddr=52:54:00:5e:01:01"), network);
            }
            Cli.Result cleanup = Cli.run("failover", "web", "--cleanup", "--discard", "--root", root);
            assertEquals(0, cleanup.exit(), cleanup.err());
            assertEquals("", Images.run("ip", "-o", "link", "show", "master", bridge).strip(), "the tap went with QEMU");
        } finally {
            Images.run("ip", "link", "del", bridge);
        }
    }

    private CycleReport remoteCycle(String vm, Path replicas, Path... sources) throws InterruptedException {
        SshOptions ssh = new SshOptions(Optional.of(sshd.clientKey()), sshd.knownHosts(), Optional.empty(),
                sshd.launcher().toString(), 20_000, 0, SshOptions.DEFAULT_IO_TIMEOUT);
        RemoteLocation host = RemoteLocation.parse(sshd.url(replicas.resolve("x"))).orElseThrow();
        List<CycleRequest.Disk> disks = new ArrayList<>();
        for (Path source : sources) {
            disks.add(new CycleRequest.Disk(SyncOptions.builder(source, replicas.resolve(source.getFileName()))
                    .stateDirectory(dir.resolve("state")).build(), Optional.empty()));
        }
        return new Replication(Progress.NONE, line -> { }, Optional.empty()).run(new CycleRequest(disks,
                Optional.of(new CycleRequest.Remote(host, ssh, Optional.empty())), false,
                Optional.of(new CycleRequest.Vm(vm, Optional.of(SMALL)))));
    }

    private CycleReport localCycle(String vm, Path replicas, Path... sources) throws InterruptedException {
        return localCycle(vm, replicas, SMALL, sources);
    }

    private CycleReport localCycle(String vm, Path replicas, QemuLaunch launch, Path... sources)
            throws InterruptedException {
        List<CycleRequest.Disk> disks = new ArrayList<>();
        for (Path source : sources) {
            disks.add(new CycleRequest.Disk(SyncOptions.builder(source, replicas.resolve(source.getFileName()))
                    .stateDirectory(dir.resolve("state")).build(), Optional.empty()));
        }
        return new Replication(Progress.NONE, line -> { }, Optional.empty()).run(new CycleRequest(disks,
                Optional.empty(), false, Optional.of(new CycleRequest.Vm(vm, Optional.of(launch)))));
    }

    private static Path copy(String image, Path to) throws IOException {
        Files.createDirectories(to.getParent());
        return Files.copy(IMAGES.resolve(image), to);
    }

    private static void scribble(Path image, long offset) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(offset);
            f.write(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        }
    }

    /** QEMU processes started from this test's directories. */
    private List<ProcessHandle> qemus() {
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(p -> p.info().commandLine().map(c -> c.contains("qemu-system")
                    && (c.contains(dir.toString()) || c.contains(shared.toString()))).orElse(false)).toList();
        }
    }
}
