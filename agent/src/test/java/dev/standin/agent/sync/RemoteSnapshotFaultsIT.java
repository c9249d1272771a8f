package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.TcpCutter;
import dev.standin.snapshot.qemu.QmpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults inside a {@code --snapshot qemu} cycle of a qcow2 drive to another host: the connection
 * to the DR host cut, the NBD export the view is read through removed, the VM killed, the QMP
 * socket missing. Each fails the cycle with one line and a non-zero exit, and leaves the VM on its
 * own disk chain with no overlay, export, record or socket behind, the replica as it was, and
 * the dirty bitmap covering every change (the next cycle is tracked and exact).
 */
@Tag("root")
class RemoteSnapshotFaultsIT {

    private static final long SIZE = 64L << 20;

    @TempDir
    Path directory;

    @BeforeAll
    static void qemuInstalled() {
        assumeTrue(QemuGuest.installed(), "qemu-system-x86_64 and qemu-img are not installed (install/setup-debian.sh)");
    }

    /** A qcow2 VM with a replica one tracked cycle old, and 32 MiB the guest wrote since. */
    private final class Setup implements AutoCloseable {
        final Path image = directory.resolve("vm.qcow2");
        final Path replica = directory.resolve("dr").resolve("vm.img");
        final Path state = directory.resolve("state");
        final OpenSshServer sshd;
        final QemuGuest vm;
        final String chain;

        Setup() throws Exception {
            Path raw = Images.create(directory.resolve("vm.raw"), SIZE, 31);
            run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), image.toString());
            Files.delete(raw);
            Files.createDirectories(replica.getParent());
            Files.createDirectories(state);
            sshd = OpenSshServer.start(directory.resolve("sshd"), null);
            vm = QemuGuest.start(directory, image, "qcow2");
            chain = chain();
            assertEquals(0, sync(sshd.url(replica)).exit());
            for (int i = 0; i < 4; i++) {
                vm.write("vd0", (long) i * (16 << 20), 8 << 20, 0x40 + i);
            }
        }

        Cli.Result sync(String destination, String... extra) {
            return sync(destination, sshd.knownHosts(), extra);
        }

        Cli.Result sync(String destination, Path knownHosts, String... extra) {
            List<String> args = new ArrayList<>(List.of("sync", image.toString(), destination, "--json", "--compress", "none",
                    "--state-dir", state.toString(), "--snapshot", "qemu:" + vm.socket + ":disk0",
                    "-i", sshd.clientKey().toString(), "--known-hosts", knownHosts.toString(), "--ssh-config", "none",
                    "--remote-standin", sshd.launcher().toString()));
            args.addAll(List.of(extra));
            return Cli.run(args.toArray(String[]::new));
        }

        String chain() throws Exception {
            StringBuilder names = new StringBuilder();
            for (JsonNode device : vm.qmp().execute("query-block", null)) {
                names.append(device.path("inserted").path("node-name").asText()).append(':')
                        .append(device.path("inserted").path("file").asText()).append(';');
            }
            return names.toString();
        }

        /** What every fault must leave: the chain as it was, no export, record, overlay or socket. */
        void assertNothingLeftBehind(Cli.Result failed) throws Exception {
            assertNotEquals(0, failed.exit(), failed.err());
            assertEquals(1, failed.err().strip().lines().count(), "one line: " + failed.err());
            assertEquals(chain, chain(), "the VM runs on its own disk chain");
            assertEquals(0, vm.qmp().execute("query-block-exports", null).size(), "no export");
            assertStateClean();
        }

        void assertStateClean() throws Exception {
            try (var files = Files.walk(state)) {
                List<String> left = files.filter(Files::isRegularFile).map(Path::toString)
                        .filter(f -> f.endsWith(".qcow2") || f.endsWith(".nbd") || f.contains("/snapshots/")).toList();
                assertEquals(List.of(), left, "no overlay, socket or snapshot record");
            }
        }

        /** The next cycle still knows every change since the replicated view, and makes the replica exact. */
        void assertNextCycleTrackedAndExact() throws Exception {
            Cli.Result next = sync(sshd.url(replica));
            assertEquals(0, next.exit(), next.err());
            assertEquals("dirty-bitmap", next.json().path("tracking").asText(), next.out());
            assertEquals(guestDisk(image), Images.sha256(replica));
            assertEquals(chain, chain());
        }

        @Override
        public void close() throws Exception {
            vm.close();
            sshd.close();
            OpenSshServer.awaitReceiversEnded(directory);
        }
    }

    @Test
    void aConnectionCutMidCycle() throws Exception {
        try (Setup setup = new Setup(); TcpCutter cutter = new TcpCutter(setup.sshd.port())) {
            String before = Images.sha256(setup.replica);
            Path knownHosts = setup.sshd.knownHostsWithRelay(cutter.port(), directory.resolve("known_hosts"));
            cutter.cutAfter(4 << 20);
            String viaCutter = "ssh://" + System.getProperty("user.name") + "@127.0.0.1:" + cutter.port() + setup.replica;
            Cli.Result cut = setup.sync(viaCutter, knownHosts);
            setup.assertNothingLeftBehind(cut);
            OpenSshServer.awaitReceiversEnded(directory);
            assertEquals(before, Images.sha256(setup.replica), "the replica is the previous point");
            setup.assertNextCycleTrackedAndExact();
        }
    }

    @Test
    void theExportRemovedWhileTheViewIsRead() throws Exception {
        try (Setup setup = new Setup()) {
            String before = Images.sha256(setup.replica);
            CompletableFuture<Cli.Result> cycle = CompletableFuture.supplyAsync(
                    () -> setup.sync(setup.sshd.url(setup.replica), "--bwlimit", "4M"));
            QmpClient qmp = setup.vm.qmp();
            String export = awaitExport(qmp, cycle);
            Thread.sleep(500);
            qmp.execute("block-export-del", QmpClient.args().put("id", export).put("mode", "hard"));
            Cli.Result failed = cycle.get(120, TimeUnit.SECONDS);
            assertTrue(failed.err().contains(setup.image + ": snapshot view nbd+unix:///" + export), failed.err());
            setup.assertNothingLeftBehind(failed);
            OpenSshServer.awaitReceiversEnded(directory);
            assertEquals(before, Images.sha256(setup.replica));
            setup.assertNextCycleTrackedAndExact();
        }
    }

    @Test
    void theVmKilledWhileTheViewIsRead() throws Exception {
        try (Setup setup = new Setup()) {
            String before = Images.sha256(setup.replica);
            CompletableFuture<Cli.Result> cycle = CompletableFuture.supplyAsync(
                    () -> setup.sync(setup.sshd.url(setup.replica), "--bwlimit", "4M"));
            awaitExport(setup.vm.qmp(), cycle);
            setup.vm.write("vd0", 60 << 20, 65536, 0x5e); // lands in the overlay
            setup.vm.close();
            Cli.Result failed = cycle.get(120, TimeUnit.SECONDS);
            assertNotEquals(0, failed.exit(), failed.err());
            setup.assertStateClean();
            OpenSshServer.awaitReceiversEnded(directory);
            assertEquals(before, Images.sha256(setup.replica));
            // The overlay was committed offline: the image has the guest's last write, and no overlay.
            JsonNode info = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                    run("qemu-img", "info", "--output=json", setup.image.toString()));
            assertFalse(info.has("backing-filename"), info.toString());
            Path raw = directory.resolve("after.raw");
            run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", setup.image.toString(), raw.toString());
            byte[] written = new byte[65536];
            try (var channel = java.nio.channels.FileChannel.open(raw)) {
                channel.read(java.nio.ByteBuffer.wrap(written), 60L << 20);
            }
            byte[] expected = new byte[65536];
            java.util.Arrays.fill(expected, (byte) 0x5e);
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected, written, "the guest's write survived");
        }
    }

    @Test
    void aMissingQmpSocketIsOneLineAndTouchesNothing() throws Exception {
        try (Setup setup = new Setup()) {
            String before = Images.sha256(setup.replica);
            List<String> args = new ArrayList<>(List.of("sync", setup.image.toString(), setup.sshd.url(setup.replica),
                    "--state-dir", setup.state.toString(), "--snapshot", "qemu:" + directory.resolve("gone.qmp") + ":disk0"));
            args.addAll(setup.sshd.sshArgs());
            Cli.Result failed = Cli.run(args.toArray(String[]::new));
            assertEquals(7, failed.exit(), failed.err());
            setup.assertNothingLeftBehind(failed);
            assertEquals(before, Images.sha256(setup.replica));
            setup.assertNextCycleTrackedAndExact();
        }
    }

    /** Waits until the cycle's view is exported (it is then being read), and returns the export's id. */
    private static String awaitExport(QmpClient qmp, CompletableFuture<Cli.Result> cycle) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            JsonNode exports = qmp.execute("query-block-exports", null);
            if (exports.size() > 0) {
                return exports.get(0).path("id").asText();
            }
            if (cycle.isDone()) {
                throw new AssertionError("the cycle ended before its view was exported: " + cycle.get().err());
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no export appeared");
    }

    private String guestDisk(Path image) throws Exception {
        return QemuGuest.guestDisk(image, directory.resolve("guest.raw"));
    }

    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), String.join(" ", command) + ": " + output);
        return output;
    }
}
