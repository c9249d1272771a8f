package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.replica.Journal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL at random moments: standin runs as a real separate process and is killed with kill -9
 * while it scans, journals or applies. After each kill the replica, once the journal is
 * recovered, is byte-identical to the previous or the new point; the next run completes.
 */
class CrashIT {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void killedSyncLeavesThePreviousOrTheNewPoint() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 48 * MIB, 1);
        Path replica = dir.resolve("replica.img");
        Path state = dir.resolve("state");
        assertEquals(0, Cli.sync(source, replica, state).exit());
        // Kills are aimed within a cycle as long as one takes on this machine: a fixed window
        // (0.15-1.65 s) missed most of the cycles once they ran in under a second.
        Images.overwriteBlocks(source, 3000, 4096, 99);
        long started = System.nanoTime();
        Process calibration = start(source, replica, state, "calibration.log");
        assertEquals(0, calibration.waitFor(), Files.readString(dir.resolve("calibration.log")));
        long cycleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.printf("CrashIT: a clean cycle takes %d ms%n", cycleMillis);
        SplittableRandom random = new SplittableRandom(42);
        int killedMidway = 0;
        for (int round = 0; round < 8; round++) {
            String previous = Images.sha256(replica);
            // Change a quarter of the image so that the journal and its replay take a while.
            Images.overwriteBlocks(source, 3000, 4096, round);
            String next = Images.sha256(source);
            Process p = start(source, replica, state, "out-" + round + ".log");
            Thread.sleep((long) (cycleMillis * (0.1 + 0.8 * random.nextDouble())));
            boolean wasRunning = p.isAlive();
            p.destroyForcibly(); // SIGKILL
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            if (wasRunning) {
                killedMidway++;
            }
            Journal.recover(Journal.pathFor(replica, false, state), replica, false);
            String after = Images.sha256(replica);
            assertTrue(Set.of(previous, next).contains(after),
                    "round " + round + ": replica is neither the previous nor the new point");
            Cli.Result resumed = Cli.sync(source, replica, state);
            assertEquals(0, resumed.exit(), resumed.err());
            assertEquals(next, Images.sha256(replica));
        }
        assertTrue(killedMidway >= 4, "only " + killedMidway + " kills landed while standin was running");
        assertTrue(Files.notExists(dir.resolve(".replica.img.standin-journal")));
    }

    @Test
    void ctrlCSaysWhereTheReplicaWasLeftAndTheNextCycleFinishes() throws Exception {
        Path source = Images.createRandom(dir.resolve("vm.img"), 512 * MIB, 1);
        Path replica = dir.resolve("replica.img");
        Path state = dir.resolve("state");
        assertEquals(0, Cli.sync(source, replica, state).exit());
        String previous = Images.sha256(replica);
        Images.createRandom(source, 512 * MIB, 2); // every block changes: the cycle takes seconds
        Path log = dir.resolve("interrupted.log");
        // A job started in the background by a shell (CI under nohup, `cmd &`) inherits SIGINT
        // ignored, and a JVM leaves an ignored SIGINT ignored: the cycle would finish. Restore it.
        List<String> command = new java.util.ArrayList<>(List.of("env", "--default-signal=INT"));
        command.addAll(Cli.javaCommand("256m", "sync", source.toString(), replica.toString(),
                "--state-dir", state.toString(), "--threads", "1", "-v"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(log).contains("scanning source") && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(p.isAlive(), "the cycle was still running when interrupted: " + Files.readString(log));
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(130, p.exitValue(), Files.readString(log));
        assertTrue(Files.readString(log).contains("standin: interrupted; the replica is left at its last committed "
                + "point, and the next cycle resumes from what had arrived"), Files.readString(log));
        Journal.recover(Journal.pathFor(replica, false, state), replica, false);
        assertEquals(previous, Images.sha256(replica));
        assertEquals(0, Cli.sync(source, replica, state).exit());
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    private Process start(Path source, Path replica, Path state, String log) throws Exception {
        List<String> command = Cli.javaCommand("256m", "sync", source.toString(), replica.toString(),
                "--state-dir", state.toString(), "--threads", "1");
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve(log).toFile()).start();
    }
}
