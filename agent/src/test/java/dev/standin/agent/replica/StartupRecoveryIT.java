package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import dev.standin.agent.supervise.TargetCycles;
import dev.standin.supervisor.config.ConfigReader;
import dev.standin.supervisor.config.SupervisorConfig;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent killed between a commit record and the end of its replay left a replica that is a mix
 * of two points. Whoever reads it next finishes the commit first: the supervisor's start-up pass
 * (local replicas and those under its replica roots), before any cycle is scheduled, and
 * {@code standin points}.
 */
class StartupRecoveryIT {

    private static final int B = 4096;

    @TempDir
    Path dir;

    /**
     * {@code replica}, a copy of {@code source} left torn: its journal (3 blocks) committed, the
     * replay cut after the first block. Returns the image the replica must become.
     */
    private Path tear(Path source, Path replica, Path state) throws Exception {
        Files.copy(source, replica);
        Path expected = dir.resolve(replica.getFileName() + ".expected");
        Files.copy(replica, expected, StandardCopyOption.REPLACE_EXISTING);
        // The cycle wrote and committed its journal; the replay was cut after its first block.
        SplittableRandom random = new SplittableRandom(2);
        try (Journal.Writer w = new Journal.Writer(Journal.pathFor(replica, false, state), B, 64 * B, 64 * B,
                new byte[32]); FileChannel exp = FileChannel.open(expected, StandardOpenOption.WRITE);
                FileChannel rep = FileChannel.open(replica, StandardOpenOption.WRITE)) {
            for (int block : new int[] {3, 9, 40}) {
                byte[] data = new byte[B];
                random.nextBytes(data);
                w.data(block, ByteBuffer.wrap(data));
                exp.write(ByteBuffer.wrap(data), (long) block * B);
                if (block == 3) {
                    rep.write(ByteBuffer.wrap(data), (long) block * B);
                }
            }
            w.commit(new byte[32]);
        }
        assertTrue(!Images.sha256(replica).equals(Images.sha256(expected)), "a mix of two points");
        return expected;
    }

    @Test
    void aCommittedJournalIsReplayedAtStartUp() throws Exception {
        Path source = Images.create(dir.resolve("db01.img"), 64 * B, 1);
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        Path replica = replicas.resolve("db01.img");
        Path state = dir.resolve("state");
        Path expected = tear(source, replica, state);

        SupervisorConfig config = ConfigReader.read(new StringReader(String.join("\n",
                "state-dir: " + state,
                "vms:",
                "  db01:",
                "    disks: [{source: " + source + "}]",
                "    targets:",
                "      - {dest: " + replicas + "/, rpo: 5m}",
                "      - {dest: ssh://dr1.invalid/srv/replicas/, rpo: 1h}", "")), "standin.yaml", TargetCycles.CHECK);
        List<String> lines = new TargetCycles(state, line -> { }, Optional.empty()).recover(config.vms(),
                config.replicaRoots());

        assertEquals(List.of("db01 " + replicas + "/: " + replica + ": the interrupted cycle's journal was replayed; "
                + "the replica is at its last committed point"), lines, "the remote target is its host's to recover");
        assertEquals(Images.sha256(expected), Images.sha256(replica));
        assertTrue(Files.notExists(Journal.pathFor(replica, false, state)));
        assertEquals(List.of(), new TargetCycles(state, line -> { }, Optional.empty()).recover(config.vms(),
                config.replicaRoots()),
                "nothing left the second time");
    }

    /**
     * A replica host that crashed mid-replay: its agent, told its replica roots, replays every
     * committed journal under them when it starts, with no sender and no cycle.
     */
    @Test
    void theReplicasOtherHostsSendAreReplayedAtStartUp() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 64 * B, 3);
        Path root = Files.createDirectories(dir.resolve("srv/replicas"));
        Path web = Files.createDirectories(root.resolve("web01")).resolve("vm.img");
        Path db = Files.createDirectories(root.resolve("db02")).resolve("vm.img");
        Path state = dir.resolve("state");
        Path webExpected = tear(source, web, state);
        Files.copy(source, db); // intact: nothing to do
        SupervisorConfig config = ConfigReader.read(new StringReader(String.join("\n",
                "state-dir: " + state,
                "replica-roots: [" + root + "]", "")), "standin.yaml", TargetCycles.CHECK);
        List<String> lines = new TargetCycles(state, line -> { }, Optional.empty()).recover(config.vms(),
                config.replicaRoots());
        assertEquals(List.of(web + ": the interrupted cycle's journal was replayed; the replica is at its last "
                + "committed point"), lines);
        assertEquals(Images.sha256(webExpected), Images.sha256(web));
        assertEquals(Images.sha256(source), Images.sha256(db));
    }

    /** {@code standin points} reads the replica only after finishing the commit it was left in. */
    @Test
    void pointsFinishesAnInterruptedCommitFirst() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 64 * B, 5);
        Path replica = Files.createDirectories(dir.resolve("r")).resolve("vm.img");
        Path state = dir.resolve("state");
        Path expected = tear(source, replica, state);
        dev.standin.agent.Cli.Result points = dev.standin.agent.Cli.run("points", replica.toString(), "--state-dir",
                state.toString());
        assertEquals(0, points.exit(), points.err());
        assertTrue(points.err().contains(replica + ": finished the commit an interrupted cycle left (journal replayed)"),
                points.err());
        assertEquals(Images.sha256(expected), Images.sha256(replica));
    }
}
