package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.TcpCutter;
import dev.standin.agent.replica.FreshReplica;
import dev.standin.agent.replica.ResumeLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A first copy whose connection breaks part way resumes: the blocks the receiver checkpointed
 * are offered as the basis of the next attempt and do not cross the wire again.
 */
class ResumeIT {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void anInterruptedFirstCopyResumesWhereItsLastCheckpointWas() throws Exception {
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null);
                TcpCutter cutter = new TcpCutter(sshd.port())) {
            Path knownHosts = sshd.knownHostsWithRelay(cutter.port(), dir.resolve("known_hosts"));
            Path source = Images.createRandom(dir.resolve("vm.img"), 64 * MIB, 1);
            Path replica = dir.resolve("replica.img");
            String user = System.getProperty("user.name");

            cutter.cutAfter(40 * MIB);
            Cli.Result cut = sync(sshd, knownHosts, source, "ssh://" + user + "@127.0.0.1:" + cutter.port() + replica);
            assertNotEquals(0, cut.exit(), "the connection was cut, the cycle must fail");
            assertTrue(Files.notExists(replica), "an interrupted first copy is not a replica");
            awaitReceiverGone(replica);
            long held = ResumeLog.load(replica).orElseThrow().bytes();
            assertTrue(held >= 24 * MIB, "only " + held + " bytes were checkpointed of ~40 MiB received");

            // Meanwhile a block inside the held part changed: it must be sent, the rest not.
            Images.overwriteBlocks(source, 1, 4096, 5);
            Cli.Result resumed = sync(sshd, knownHosts, source, "ssh://" + user + "@127.0.0.1:" + sshd.port() + replica);
            assertEquals(0, resumed.exit(), resumed.err());
            JsonNode stats = resumed.json();
            assertEquals("resumed", stats.get("recovery").asText(), stats.toString());
            assertEquals("receiver-partial", stats.get("signatures").asText());
            assertTrue(stats.get("firstCopy").asBoolean(), "a resumed first copy is still a first copy");
            assertTrue(stats.get("literalBytes").asLong() <= 64 * MIB - held + 4096, stats.toString());
            assertEquals(Images.sha256(source), Images.sha256(replica));
            assertTrue(Files.notExists(FreshReplica.stagingPath(replica)));
            assertTrue(Files.notExists(ResumeLog.pathFor(replica)));
        }
    }

    /** The same for an update: the uncommitted journal is kept, and continued by the next cycle. */
    @Test
    void anInterruptedUpdateResumesItsJournal() throws Exception {
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null);
                TcpCutter cutter = new TcpCutter(sshd.port())) {
            Path knownHosts = sshd.knownHostsWithRelay(cutter.port(), dir.resolve("known_hosts"));
            Path source = Images.createRandom(dir.resolve("vm.img"), 64 * MIB, 11);
            Path replica = dir.resolve("replica.img");
            String user = System.getProperty("user.name");
            String direct = "ssh://" + user + "@127.0.0.1:" + sshd.port() + replica;
            assertEquals(0, sync(sshd, knownHosts, source, direct).exit());
            String previous = Images.sha256(replica);
            Images.createRandom(source, 64 * MIB, 12); // every block changes

            cutter.cutAfter(40 * MIB);
            Cli.Result cut = sync(sshd, knownHosts, source, "ssh://" + user + "@127.0.0.1:" + cutter.port() + replica);
            assertNotEquals(0, cut.exit());
            awaitReceiverGone(replica);
            assertEquals(previous, Images.sha256(replica), "an interrupted update must not touch the replica");
            long held = ResumeLog.load(replica).orElseThrow().bytes();
            assertTrue(held >= 24 * MIB, "only " + held + " bytes were checkpointed of ~40 MiB received");

            Cli.Result resumed = sync(sshd, knownHosts, source, direct);
            assertEquals(0, resumed.exit(), resumed.err());
            JsonNode stats = resumed.json();
            assertEquals("resumed", stats.get("recovery").asText(), stats.toString());
            assertEquals("receiver-resume", stats.get("signatures").asText());
            assertFalse(stats.get("firstCopy").asBoolean(), "a resumed update is not a first copy: " + stats);
            assertTrue(stats.get("literalBytes").asLong() <= 64 * MIB - held, stats.toString());
            assertEquals(Images.sha256(source), Images.sha256(replica));
            assertTrue(Files.notExists(ResumeLog.pathFor(replica)));
            assertTrue(Files.notExists(replica.resolveSibling(".replica.img.standin-journal")));
        }
    }

    @Test
    void aResumeLogForAnotherImageIsDroppedAndTheCopyStartsOver() throws Exception {
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null);
                TcpCutter cutter = new TcpCutter(sshd.port())) {
            Path knownHosts = sshd.knownHostsWithRelay(cutter.port(), dir.resolve("known_hosts"));
            Path source = Images.createRandom(dir.resolve("vm.img"), 32 * MIB, 2);
            Path replica = dir.resolve("replica.img");
            String user = System.getProperty("user.name");
            cutter.cutAfter(24 * MIB);
            assertNotEquals(0, sync(sshd, knownHosts, source,
                    "ssh://" + user + "@127.0.0.1:" + cutter.port() + replica).exit());
            awaitReceiverGone(replica);
            assertTrue(ResumeLog.load(replica).isPresent());

            Path other = Images.createRandom(dir.resolve("other.img"), 48 * MIB, 3); // another length
            Cli.Result r = sync(sshd, knownHosts, other, "ssh://" + user + "@127.0.0.1:" + sshd.port() + replica);
            assertEquals(0, r.exit(), r.err());
            assertEquals("none", r.json().get("signatures").asText());
            assertEquals(Images.sha256(other), Images.sha256(replica));
        }
    }

    private Cli.Result sync(OpenSshServer sshd, Path knownHosts, Path source, String destination) {
        List<String> args = new ArrayList<>(List.of("sync", source.toString(), destination, "--json",
                "--compress", "none", "--state-dir", dir.resolve("state").toString(), "-i", sshd.clientKey().toString(),
                "--known-hosts", knownHosts.toString(), "--ssh-config", "none",
                "--remote-standin", sshd.launcher().toString()));
        return Cli.run(args.toArray(String[]::new));
    }

    /** The receiver notices the cut on its own time; wait until it has exited. */
    private static void awaitReceiverGone(Path replica) throws InterruptedException {
        OpenSshServer.awaitReceiversEnded(replica.getParent());
    }
}
