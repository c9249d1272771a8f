package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin sync --snapshot qemu:... SOURCE host:PATH}: a running QEMU's drive, frozen by the
 * hook, straight to a replica behind a real OpenSSH sshd on 127.0.0.1, with dirty-bitmap tracking
 * across cycles; the VM runs on its own disk again after every cycle.
 */
@Tag("root")
class RemoteSnapshotIT {

    private static final long SIZE = 64L << 20;

    @TempDir
    Path directory;

    @Test
    void trackedCyclesToAnotherHostReadOnlyWhatTheGuestWrote() throws Exception {
        assumeTrue(QemuGuest.installed(), "qemu-system-x86_64 and qemu-img are not installed (install/setup-debian.sh)");
        Path image = Images.create(directory.resolve("vm.raw"), SIZE, 21);
        Path replica = directory.resolve("dr").resolve("replica.img");
        Files.createDirectories(replica.getParent());
        Path state = Files.createDirectories(directory.resolve("state"));
        try (OpenSshServer sshd = OpenSshServer.start(directory.resolve("sshd"), null);
                QemuGuest vm = QemuGuest.start(directory, image)) {
            String snapshot = "qemu:" + vm.socket + ":disk0";
            String chainBefore = chain(vm);

            JsonNode first = sync(sshd, image, sshd.url(replica), state, snapshot);
            assertTrue(first.path("tracking").asText().startsWith("full-scan:no replicated view"), first.toString());
            assertTrue(first.path("firstCopy").asBoolean());
            assertEquals(Images.sha256(image), Images.sha256(replica));
            assertEquals(chainBefore, chain(vm), "the VM runs on its own disk again");

            vm.write(5 << 20, 4096, 0x51);
            vm.write(40 << 20, 65536, 0x52);
            JsonNode second = sync(sshd, image, sshd.url(replica), state, snapshot);
            assertEquals("dirty-bitmap", second.path("tracking").asText(), second.toString());
            assertEquals("sender-cache", second.path("signatures").asText(), second.toString());
            assertTrue(second.path("sourceBytesRead").asLong() <= 1 << 20,
                    "read only the segments around the two writes: " + second);
            assertEquals(Images.sha256(image), Images.sha256(replica), "the replica is exact although most was not read");
            assertEquals(chainBefore, chain(vm));

            // The same disk to a local replica tracks apart: its first cycle is a full scan.
            JsonNode local = sync(sshd, image, directory.resolve("local.img").toString(), state, snapshot);
            assertTrue(local.path("tracking").asText().startsWith("full-scan:"), local.toString());
            vm.write(9 << 20, 4096, 0x53);
            JsonNode third = sync(sshd, image, sshd.url(replica), state, snapshot);
            assertEquals("dirty-bitmap", third.path("tracking").asText(), third.toString());
            assertEquals(Images.sha256(image), Images.sha256(replica));
        } finally {
            OpenSshServer.awaitReceiversEnded(directory);
        }
    }

    @Test
    void aQcow2DriveIsReadThroughNbdIntoASparseRawReplica() throws Exception {
        assumeTrue(QemuGuest.installed(), "qemu-system-x86_64 and qemu-img are not installed (install/setup-debian.sh)");
        Path raw = Images.create(directory.resolve("vm.raw"), SIZE, 23);
        Path image = directory.resolve("vm.qcow2");
        qemuImg("convert", "-f", "raw", "-O", "qcow2", raw.toString(), image.toString());
        Files.delete(raw);
        // 16 MiB the guest zeroed: QEMU reports it as reading zeros, so it is a hole in the replica.
        run("qemu-io", "-f", "qcow2", "-c", "write -z 32M 16M", image.toString());
        Path replica = directory.resolve("dr").resolve("replica.img");
        Files.createDirectories(replica.getParent());
        Path state = Files.createDirectories(directory.resolve("state"));
        try (OpenSshServer sshd = OpenSshServer.start(directory.resolve("sshd"), null);
                QemuGuest vm = QemuGuest.start(directory, image, "qcow2")) {
            String snapshot = "qemu:" + vm.socket + ":disk0";
            String chainBefore = chain(vm);

            JsonNode first = sync(sshd, image, sshd.url(replica), state, snapshot);
            assertTrue(first.path("firstCopy").asBoolean(), first.toString());
            assertEquals(SIZE, first.path("sourceBytes").asLong(), "the guest-visible size, not the qcow2 file's");
            assertEquals(guestDisk(image), Images.sha256(replica), "the replica is the guest's disk, raw");
            assertTrue(first.path("sourceBytesRead").asLong() <= SIZE - (16 << 20), "the zeroed range was not read: " + first);
            assertEquals(chainBefore, chain(vm), "the VM runs on its own disk again");
            assertEquals(0, vm.qmp().execute("query-block-exports", null).size(), "the export is gone");

            vm.write(5 << 20, 4096, 0x61);
            vm.write(50 << 20, 65536, 0x62);
            JsonNode second = sync(sshd, image, sshd.url(replica), state, snapshot);
            assertEquals("dirty-bitmap", second.path("tracking").asText(), second.toString());
            assertTrue(second.path("sourceBytesRead").asLong() <= 1 << 20,
                    "read only the segments around the two writes: " + second);
            assertEquals(guestDisk(image), Images.sha256(replica));
            assertEquals(chainBefore, chain(vm));
        } finally {
            OpenSshServer.awaitReceiversEnded(directory);
        }
    }

    @Test
    void twoDrivesOfOneVmGoTogetherOverOneConnection() throws Exception {
        assumeTrue(QemuGuest.installed(), "qemu-system-x86_64 and qemu-img are not installed (install/setup-debian.sh)");
        Path data = Images.create(directory.resolve("data.raw"), SIZE, 25);
        Path log = directory.resolve("log.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", log.toString(), Long.toString(SIZE));
        Path dr = Files.createDirectories(directory.resolve("dr"));
        Path state = Files.createDirectories(directory.resolve("state"));
        try (OpenSshServer sshd = OpenSshServer.start(directory.resolve("sshd"), null);
                QemuGuest vm = QemuGuest.start(directory, data, "raw", log)) {
            vm.write("vd1", 1 << 20, 65536, 0x71);
            String snapshot = "qemu:" + vm.socket + ":disk0,disk1";
            String chainBefore = chain(vm);
            List<JsonNode> first = syncAll(sshd, List.of(data, log), sshd.url(dr) + "/", state, snapshot);
            assertEquals(2, first.size());
            assertEquals(Images.sha256(data), Images.sha256(dr.resolve("data.raw")));
            assertEquals(guestDisk(log), Images.sha256(dr.resolve("log.qcow2")), "the qcow2 drive's replica is raw");
            assertEquals(chainBefore, chain(vm));

            vm.write("vd0", 3 << 20, 4096, 0x72);
            vm.write("vd1", 7 << 20, 4096, 0x73);
            List<JsonNode> second = syncAll(sshd, List.of(data, log), sshd.url(dr) + "/", state, snapshot);
            for (JsonNode disk : second) {
                assertEquals("dirty-bitmap", disk.path("tracking").asText(), disk.toString());
                assertTrue(disk.path("sourceBytesRead").asLong() <= 1 << 20, disk.toString());
            }
            assertEquals(Images.sha256(data), Images.sha256(dr.resolve("data.raw")));
            assertEquals(guestDisk(log), Images.sha256(dr.resolve("log.qcow2")));
            assertEquals(chainBefore, chain(vm));

            Cli.Result mismatch = Cli.run(withSsh(sshd, "sync", data.toString(), log.toString(), sshd.url(dr) + "/",
                    "--state-dir", state.toString(), "--snapshot", "qemu:" + vm.socket + ":disk0"));
            assertEquals(2, mismatch.exit(), mismatch.err());
            assertTrue(mismatch.err().contains("views 1 disk(s), and 2 SOURCE(s) were given"), mismatch.err());
            assertEquals(chainBefore, chain(vm), "nothing was taken");
        } finally {
            OpenSshServer.awaitReceiversEnded(directory);
        }
    }

    private static String[] withSsh(OpenSshServer sshd, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(sshd.sshArgs());
        return all.toArray(String[]::new);
    }

    private static List<JsonNode> syncAll(OpenSshServer sshd, List<Path> images, String destination, Path state,
            String snapshot) throws Exception {
        List<String> args = new ArrayList<>(List.of("sync"));
        images.forEach(i -> args.add(i.toString()));
        args.addAll(List.of(destination, "--json", "--state-dir", state.toString(), "--snapshot", snapshot));
        args.addAll(sshd.sshArgs());
        Cli.Result result = Cli.run(args.toArray(String[]::new));
        assertEquals(0, result.exit(), result.err());
        List<JsonNode> disks = new ArrayList<>();
        for (String line : result.out().strip().split("\n")) {
            disks.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line));
        }
        return disks;
    }

    private String guestDisk(Path image) throws Exception {
        return QemuGuest.guestDisk(image, directory.resolve("guest.raw"));
    }

    private static void qemuImg(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("qemu-img"));
        command.addAll(List.of(args));
        run(command.toArray(String[]::new));
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), String.join(" ", command) + ": " + output);
    }

    /** The drive's node chain as QEMU reports it: the same before and after a cycle. */
    private static String chain(QemuGuest vm) throws Exception {
        StringBuilder names = new StringBuilder();
        for (JsonNode device : vm.qmp().execute("query-block", null)) {
            names.append(device.path("device").asText()).append('=')
                    .append(device.path("inserted").path("node-name").asText()).append(':')
                    .append(device.path("inserted").path("file").asText()).append(';');
        }
        return names.toString();
    }

    private static JsonNode sync(OpenSshServer sshd, Path image, String destination, Path state, String snapshot)
            throws Exception {
        List<String> args = new ArrayList<>(List.of("sync", image.toString(), destination, "--json",
                "--state-dir", state.toString(), "--snapshot", snapshot));
        args.addAll(sshd.sshArgs());
        Cli.Result result = Cli.run(args.toArray(String[]::new));
        assertEquals(0, result.exit(), result.err());
        return result.json();
    }
}
