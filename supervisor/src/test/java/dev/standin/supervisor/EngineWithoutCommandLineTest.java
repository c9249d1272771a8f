package dev.standin.supervisor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.DiskOutcome;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The supervisor builds on the engine's one entry point with neither picocli nor the progress bar
 * on its class path (they are excluded in this module's pom): a cycle runs, and a failure comes back
 * as an outcome that says whether a retry can help.
 */
class EngineWithoutCommandLineTest {

    @TempDir
    Path dir;

    @Test
    void theCommandLineIsNotOnTheClassPath() {
        assertThrows(ClassNotFoundException.class, () -> Class.forName("picocli.CommandLine"));
        assertThrows(ClassNotFoundException.class, () -> Class.forName("me.tongfei.progressbar.ProgressBar"));
    }

    @Test
    void aCycleRunsThroughTheEngine() throws Exception {
        byte[] content = new byte[3 << 20];
        new Random(1).nextBytes(content);
        Path source = Files.write(dir.resolve("vm.img"), content);
        Path replica = dir.resolve("replica.img");
        SyncOptions options = SyncOptions.builder(source, replica).stateDirectory(dir.resolve("state")).build();
        Replication engine = new Replication(Progress.NONE, line -> { }, Optional.empty());

        SyncStats stats = engine.run(CycleRequest.local(List.of(new CycleRequest.Disk(options, Optional.empty()))))
                .get(0).orThrow();
        assertTrue(stats.firstCopy());
        assertArrayEquals(content, Files.readAllBytes(replica));

        SyncOptions missing = SyncOptions.builder(dir.resolve("gone.img"), replica).stateDirectory(dir.resolve("state"))
                .build();
        DiskOutcome failed = engine.run(CycleRequest.local(List.of(new CycleRequest.Disk(missing, Optional.empty()))))
                .get(0);
        StandinException failure = failed.failure().orElseThrow();
        assertEquals(ExitStatus.SOURCE, failure.status(), failure.getMessage());
        assertArrayEquals(content, Files.readAllBytes(replica), "the replica keeps its last point");
    }
}
