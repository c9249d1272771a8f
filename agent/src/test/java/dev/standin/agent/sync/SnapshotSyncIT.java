package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.snapshot.qemu.QmpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves {@code standin sync --snapshot qemu:...} end to end against a running QEMU: the first
 * cycle scans and arms a dirty bitmap, the next reads only the extents the guest wrote and still
 * yields a byte-identical replica, and tracking falls back to a full scan (saying why) when the
 * replica was touched, the bitmap was lost or the cycle was a dry run, then re-arms.
 */
@Tag("root")
class SnapshotSyncIT {

    private static final long SIZE = 64L << 20;

    @TempDir
    Path directory;

    @Test
    void trackedCyclesReadOnlyWhatTheGuestWrote() throws Exception {
        assumeTrue(QemuGuest.installed(), "qemu-system-x86_64 and qemu-img are not installed (install/setup-debian.sh)");
        Path image = Images.create(directory.resolve("vm.raw"), SIZE, 11);
        Path replica = directory.resolve("replica.img");
        Path state = Files.createDirectories(directory.resolve("state"));
        try (QemuGuest vm = QemuGuest.start(directory, image)) {
            String snapshot = "qemu:" + vm.socket + ":disk0";

            JsonNode first = sync(image, replica, state, snapshot);
            assertTrue(first.path("tracking").asText().startsWith("full-scan:no replicated view"), first.toString());
            assertEquals(Images.sha256(image), Images.sha256(replica));

            vm.write(5 << 20, 4096, 0x41);
            vm.write(40 << 20, 65536, 0x42);
            JsonNode second = sync(image, replica, state, snapshot);
            assertEquals("dirty-bitmap", second.path("tracking").asText(), second.toString());
            assertTrue(second.path("sourceBytesRead").asLong() <= 1 << 20,
                    "read only the segments around the two writes: " + second);
            assertEquals(0, second.path("replicaBytesRead").asLong());
            assertEquals(Images.sha256(image), Images.sha256(replica), "the replica is exact although most was not read");

            JsonNode idle = sync(image, replica, state, snapshot);
            assertEquals("dirty-bitmap", idle.path("tracking").asText());
            assertEquals(0, idle.path("sourceBytesRead").asLong(), "nothing written, nothing read");

            // Someone touched the replica: its cache is no longer proof of its content.
            Files.setLastModifiedTime(replica, FileTime.from(Instant.now().plusSeconds(5)));
            vm.write(7 << 20, 4096, 0x43);
            JsonNode touched = sync(image, replica, state, snapshot);
            assertTrue(touched.path("tracking").asText().startsWith("full-scan:no valid signature cache"), touched.toString());
            assertEquals(Images.sha256(image), Images.sha256(replica));

            // As after a VM restart: the bitmap is gone.
            for (JsonNode node : vm.qmp().execute("query-named-block-nodes", QmpClient.args().put("flat", true))) {
                for (JsonNode bitmap : node.path("dirty-bitmaps")) {
                    vm.qmp().execute("block-dirty-bitmap-remove", QmpClient.args()
                            .put("node", node.path("node-name").asText()).put("name", bitmap.path("name").asText()));
                }
            }
            vm.write(9 << 20, 4096, 0x44);
            JsonNode lost = sync(image, replica, state, snapshot);
            assertTrue(lost.path("tracking").asText().contains("is gone"), lost.toString());
            assertEquals(Images.sha256(image), Images.sha256(replica));

            vm.write(60 << 20, 4096, 0x45);
            JsonNode rearmed = sync(image, replica, state, snapshot);
            assertEquals("dirty-bitmap", rearmed.path("tracking").asText(), rearmed.toString());
            assertEquals(Images.sha256(image), Images.sha256(replica));
        }
    }

    @Test
    void aBadSpecIsAUsageErrorAndAFailingHookExitsSeven() throws Exception {
        Path image = Images.create(directory.resolve("a.img"), 1 << 20, 1);
        Path state = Files.createDirectories(directory.resolve("state"));
        Cli.Result bad = Cli.sync(image, directory.resolve("b.img"), state, "--snapshot", "zfs:x");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("unknown snapshot kind 'zfs'"), bad.err());
        Cli.Result gone = Cli.sync(image, directory.resolve("b.img"), state, "--snapshot",
                "qemu:" + directory.resolve("no-such.qmp") + ":disk0");
        assertEquals(7, gone.exit(), gone.err());
        assertTrue(gone.err().contains("cannot connect to QMP socket"), gone.err());
        assertTrue(Files.notExists(directory.resolve("b.img")), "nothing was written");
    }

    private static JsonNode sync(Path image, Path replica, Path state, String snapshot) throws Exception {
        Cli.Result result = Cli.sync(image, replica, state, "--snapshot", snapshot);
        assertEquals(0, result.exit(), result.err());
        return result.json();
    }

    /** A user script as PRE or POST: logs its name and arguments, then runs {@code body}. */
    private Path script(String name, Path log, String body) throws Exception {
        Path file = directory.resolve(name);
        Files.writeString(file, "#!/bin/sh\necho \"" + name + " $1\" >> " + log + "\n" + body + "\n");
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    @Test
    void aSnapshotLeftByAKilledAgentIsReleasedAtTheNextStart() throws Exception {
        Path image = Images.create(directory.resolve("disk.img"), 4 << 20, 3);
        Path replica = directory.resolve("replica.img");
        Path state = Files.createDirectories(directory.resolve("state"));
        Path log = directory.resolve("calls.log");
        Path flag = directory.resolve("hang");
        Files.createFile(flag);
        // PRE hangs while the flag exists, so the agent can be killed between PRE and POST.
        String spec = "script:" + script("pre", log, "while [ -e " + flag + " ]; do sleep 0.05; done") + ":"
                + script("post", log, "exit 0") + ":60";
        Process agent = new ProcessBuilder(Cli.javaCommand("256m", "sync", image.toString(), replica.toString(),
                "--state-dir", state.toString(), "--snapshot", spec)).redirectErrorStream(true)
                .redirectOutput(directory.resolve("agent.log").toFile()).start();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!(Files.exists(log) && Files.readString(log).contains("pre"))) {
            assertTrue(System.nanoTime() < deadline, "PRE never ran: " + Files.readString(directory.resolve("agent.log")));
            Thread.sleep(20);
        }
        agent.destroyForcibly().waitFor(); // SIGKILL between PRE and POST
        Files.delete(flag);
        try (var records = Files.list(state.resolve("snapshots"))) {
            assertEquals(1, records.count(), "the record of the killed agent's snapshot is left");
        }

        Cli.Result next = Cli.sync(image, replica, state, "--snapshot", spec);
        assertEquals(0, next.exit(), next.err());
        assertTrue(next.err().contains("released stale script snapshot standin-"), next.err());
        assertEquals("full-scan:the script hook does not track changes", next.json().path("tracking").asText());
        // pre (killed agent), post (its stale release), then this cycle's pre and post.
        assertEquals(java.util.List.of("pre", "post", "pre", "post"),
                Files.readAllLines(log).stream().map(l -> l.split(" ")[0]).toList());
        assertEquals(Images.sha256(image), Images.sha256(replica));
        try (var records = Files.list(state.resolve("snapshots"))) {
            assertEquals(0, records.filter(f -> f.toString().endsWith(".snapshot")).count());
        }
    }
}
