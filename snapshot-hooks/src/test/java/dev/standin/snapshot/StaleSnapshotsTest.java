package dev.standin.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StaleSnapshotsTest {

    @TempDir
    Path state;

    @Test
    void aRecordRoundTripsAndIsNotStaleWhileItsOwnerLives() throws Exception {
        StaleSnapshots registry = new StaleSnapshots(state);
        String id = StaleSnapshots.newId();
        StaleSnapshots.Entry entry = registry.record(id, "qemu", Map.of("socket", "/run/a b=c%.qmp", "node", "disk0"));
        assertEquals(List.of(entry), registry.all());
        assertEquals(List.of(), registry.stale(), "this process is alive");
        registry.remove(entry);
        assertEquals(List.of(), registry.all());
    }

    @Test
    void aRecordOfADeadProcessIsStale() throws Exception {
        StaleSnapshots registry = new StaleSnapshots(state);
        Process child = new ProcessBuilder("true").start();
        child.waitFor();
        StaleSnapshots.Entry dead = new StaleSnapshots.Entry(StaleSnapshots.newId(), "file", child.pid(), 1, Map.of("copy", "/x"));
        Files.createDirectories(registry.directory());
        Files.writeString(registry.directory().resolve(dead.id() + ".snapshot"), StaleSnapshots.format(dead));
        assertEquals(List.of(dead), registry.stale());
    }

    @Test
    void aDamagedRecordIsReportedNotActedOn() throws Exception {
        StaleSnapshots registry = new StaleSnapshots(state);
        StaleSnapshots.Entry entry = registry.record(StaleSnapshots.newId(), "lvm", Map.of("vg", "vg0", "snapshot", "s"));
        Path file = registry.directory().resolve(entry.id() + ".snapshot");
        Files.writeString(file, Files.readString(file).replace("vg0", "vg1"));
        assertEquals(List.of(), registry.all());
        assertEquals(1, registry.unreadable().size());
        assertTrue(registry.unreadable().get(0).reason().contains("checksum mismatch"));
    }
}
