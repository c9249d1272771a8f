package dev.standin.snapshot.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHooks;
import dev.standin.snapshot.StaleSnapshots;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves with real executables that PRE runs before the view is used and POST after, that POST runs
 * when PRE fails or hangs past its timeout, and that a record left by a dead agent runs POST at the
 * next start.
 */
class ScriptHookIT {

    @TempDir
    Path directory;
    private Path log;
    private HookContext context;

    @BeforeEach
    void setUp() {
        log = directory.resolve("calls.log");
        context = HookContext.of(directory.resolve("state"), Optional.empty());
    }

    private Path script(String name, String body) throws Exception {
        Path file = directory.resolve(name);
        Files.writeString(file, "#!/bin/sh\necho \"" + name + " $1 $2\" >> " + log + "\n" + body + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    private List<String> calls() throws Exception {
        return Files.exists(log) ? Files.readAllLines(log).stream().map(l -> l.split(" ")[0]).toList() : List.of();
    }

    @Test
    void preThenPostAroundTheCycle() throws Exception {
        Path source = Files.writeString(directory.resolve("disk.img"), "data");
        ScriptHook hook = new ScriptHook(script("pre", "exit 0"), script("post", "exit 0"), Duration.ofSeconds(10), context);
        try (Snapshot snapshot = hook.take(source, "k")) {
            assertEquals(source, snapshot.view());
            assertEquals(List.of("pre"), calls());
            assertEquals(1, context.registry().all().size());
        }
        assertEquals(List.of("pre", "post"), calls());
        assertTrue(Files.readAllLines(log).get(1).startsWith("post " + source + " " + StaleSnapshots.PREFIX));
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void postRunsWhenPreFails() throws Exception {
        ScriptHook hook = new ScriptHook(script("pre", "echo broken >&2; exit 3"), script("post", "exit 0"),
                Duration.ofSeconds(10), context);
        SnapshotException e = assertThrows(SnapshotException.class, () -> hook.take(directory, "k"));
        assertTrue(e.getMessage().contains("exited with status 3: broken"), e.getMessage());
        assertEquals(List.of("pre", "post"), calls());
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void aHangingPreIsKilledAtItsTimeoutAndPostStillRuns() throws Exception {
        ScriptHook hook = new ScriptHook(script("pre", "sleep 60"), script("post", "exit 0"), Duration.ofSeconds(1), context);
        long started = System.nanoTime();
        SnapshotException e = assertThrows(SnapshotException.class, () -> hook.take(directory, "k"));
        assertTrue((System.nanoTime() - started) / 1e9 < 10, "killed at the timeout, not after sleep 60");
        assertTrue(e.getMessage().contains("timed out"), e.getMessage());
        assertEquals(List.of("pre", "post"), calls());
    }

    @Test
    void aFailingPostKeepsTheRecordAndTheNextStartRunsItAgain() throws Exception {
        Path flag = directory.resolve("post-may-succeed");
        ScriptHook hook = new ScriptHook(script("pre", "exit 0"), script("post", "test -e " + flag),
                Duration.ofSeconds(10), context);
        Snapshot snapshot = hook.take(directory, "k");
        assertThrows(SnapshotException.class, snapshot::close);
        assertEquals(1, context.registry().all().size(), "POST has not succeeded yet");
        // Simulate the agent dying here: the record's owner is gone.
        StaleSnapshots.Entry entry = context.registry().all().get(0);
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        context.registry().remove(entry);
        StaleSnapshots.Entry orphan = new StaleSnapshots.Entry(entry.id(), entry.kind(), dead.pid(), 1, entry.fields());
        Files.writeString(context.registry().directory().resolve(orphan.id() + ".snapshot"),
                dev.standin.snapshot.StaleRecords.format(orphan));
        Files.createFile(flag);
        List<String> report = new SnapshotHooks(context, Optional.empty()).releaseStale();
        assertEquals(List.of("released stale script snapshot " + entry.id()), report);
        assertEquals(List.of("pre", "post", "post"), calls());
        assertEquals(List.of(), context.registry().all());
    }
}
