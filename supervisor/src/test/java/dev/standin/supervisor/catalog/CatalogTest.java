package dev.standin.supervisor.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.supervisor.policy.BootOutcome;
import dev.standin.supervisor.policy.CycleRecord;
import dev.standin.supervisor.policy.Health;
import dev.standin.supervisor.policy.Outcome;
import dev.standin.supervisor.policy.TargetState;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog in a real SQLite file. */
class CatalogTest {

    @TempDir
    Path dir;

    static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    static Catalog.Cycle cycle(String target, Instant started, Outcome outcome) {
        boolean ok = outcome == Outcome.OK;
        return new Catalog.Cycle("db01", target, new CycleRecord("sync", started, started.plusSeconds(30), outcome,
                false, ok ? Optional.of(started) : Optional.empty(), ok ? Optional.empty() : Optional.of("cut"), false),
                1 << 20, 4096, Optional.of("dirty-bitmap"), ok ? List.of(3L, 9L) : List.of(), Optional.empty());
    }

    @Test
    void cyclesComeBackNewestFirstAndRebuildPolicyState() throws Exception {
        try (Catalog c = Catalog.open(dir)) {
            c.record(cycle("/r/", T0, Outcome.OK));
            c.record(cycle("/r/", T0.plusSeconds(300), Outcome.TRANSIENT));
            c.record(cycle("dr:/r/", T0.plusSeconds(310), Outcome.OK));
            c.record(cycle("/r/", T0.plusSeconds(400), Outcome.TRANSIENT));
        }
        try (Catalog c = Catalog.open(dir)) {
            List<Catalog.Row> rows = c.history(Optional.of("db01"), Optional.empty(), 10);
            assertEquals(4, rows.size());
            assertEquals(T0.plusSeconds(400), rows.get(0).cycle().record().started());
            assertEquals(Optional.of("dirty-bitmap"), rows.get(0).cycle().tracking());
            assertEquals(List.of(), rows.get(0).cycle().points());
            assertEquals(List.of(3L, 9L), rows.get(3).cycle().points());
            assertEquals(2, c.history(Optional.empty(), Optional.of(T0.plusSeconds(335)), 10).size());
            TargetState state = c.state("db01", "/r/", T0.plusSeconds(500));
            assertEquals(Optional.of(T0), state.lastPoint());
            assertEquals(2, state.consecutiveFailures());
            assertEquals(3, state.recent().size());
        }
    }

    @Test
    void aBootChecksVerdictIsKeptAndRebuildsTheState() throws Exception {
        Instant checked = T0.plusSeconds(600);
        try (Catalog c = Catalog.open(dir)) {
            c.record(cycle("/r/", T0, Outcome.OK));
            c.record(new Catalog.Cycle("db01", "/r/", new CycleRecord(CycleRecord.BOOT_CHECK, checked,
                    checked.plusSeconds(45), Outcome.OK, false, Optional.empty(), Optional.empty(), false,
                    Optional.of(new BootOutcome("failed", 5, "the guest kernel panicked"))), 0, 0, Optional.empty(),
                    List.of(), Optional.empty()));
        }
        try (Catalog c = Catalog.open(dir)) {
            Catalog.Row row = c.history(Optional.of("db01"), Optional.empty(), 1).get(0);
            assertEquals(Optional.of(new BootOutcome("failed", 5, "the guest kernel panicked")), row.cycle().record()
                    .boot());
            TargetState state = c.state("db01", "/r/", checked.plusSeconds(60));
            assertEquals(Optional.of(T0), state.lastPoint());
            assertEquals(Optional.of(checked.plusSeconds(45)), state.lastBootCheck());
            assertEquals("failed", state.boot().orElseThrow().verdict());
        }
    }

    @Test
    void healthChangesAndPausesOutliveTheAgent() throws Exception {
        try (Catalog c = Catalog.open(dir)) {
            c.recordHealth("db01", "/r/", T0, Health.WARNING, Health.OK, "newest point is 6m old");
            c.setPaused("web", true, T0);
            c.setPaused("db01", true, T0);
            c.setPaused("db01", false, T0);
        }
        try (Catalog c = Catalog.open(dir)) {
            assertEquals(Optional.of(Health.WARNING), c.lastHealth("db01", "/r/"));
            assertEquals(Optional.empty(), c.lastHealth("db01", "other"));
            assertEquals(Set.of("web"), c.paused());
        }
    }

    @Test
    void pruningKeepsTheNewestRowsWithinTheAge() throws Exception {
        try (Catalog c = Catalog.open(dir)) {
            for (int i = 0; i < 20; i++) {
                c.record(cycle("/r/", T0.plus(Duration.ofDays(i)), Outcome.OK));
            }
            c.prune(T0.plus(Duration.ofDays(20)), Duration.ofDays(15), 10);
            List<Catalog.Row> left = c.history(Optional.empty(), Optional.empty(), 100);
            assertEquals(10, left.size(), "at most 10");
            assertEquals(T0.plus(Duration.ofDays(10)), left.get(9).cycle().record().started());
            c.prune(T0.plus(Duration.ofDays(20)), Duration.ofDays(5), 10);
            assertEquals(5, c.history(Optional.empty(), Optional.empty(), 100).size(), "none older than 5 days");
        }
    }

    @Test
    void aCatalogOfANewerSchemaIsRefusedNotDamaged() throws Exception {
        Catalog.open(dir).close();
        try (var db = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("catalog.db"));
                var s = db.createStatement()) {
            s.execute("PRAGMA user_version = " + (Catalog.VERSION + 1));
        }
        CatalogException e = assertThrows(CatalogException.class, () -> Catalog.open(dir));
        assertTrue(e.getMessage().contains("has schema version " + (Catalog.VERSION + 1) + ", newer than this standin's "
                + Catalog.VERSION), e.getMessage());
    }

    /** A catalog the first release wrote (schema 1, one point id a cycle) keeps its history across the upgrade. */
    @Test
    void aVersionOneCatalogIsMigratedWithItsRows() throws Exception {
        try (var db = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("catalog.db"));
                var s = db.createStatement()) {
            s.execute("CREATE TABLE cycles (id INTEGER PRIMARY KEY, vm TEXT NOT NULL, target TEXT NOT NULL,"
                    + " kind TEXT NOT NULL, started INTEGER NOT NULL, ended INTEGER NOT NULL, result TEXT NOT NULL,"
                    + " first_copy INTEGER NOT NULL, bytes_read INTEGER NOT NULL, bytes_sent INTEGER NOT NULL,"
                    + " tracking TEXT, point_id INTEGER, point_time INTEGER, error TEXT, needs_resync INTEGER NOT NULL)");
            s.execute("CREATE INDEX cycles_by_target ON cycles (vm, target, id)");
            s.execute("CREATE TABLE health_changes (id INTEGER PRIMARY KEY, vm TEXT NOT NULL, target TEXT NOT NULL,"
                    + " at INTEGER NOT NULL, health TEXT NOT NULL, previous TEXT NOT NULL, reason TEXT NOT NULL)");
            s.execute("CREATE TABLE scrubs (cycle_id INTEGER PRIMARY KEY REFERENCES cycles (id) ON DELETE CASCADE,"
                    + " blocks_checked INTEGER NOT NULL, blocks_repaired INTEGER NOT NULL, drifted INTEGER NOT NULL)");
            s.execute("CREATE TABLE paused (vm TEXT PRIMARY KEY, at INTEGER NOT NULL)");
            s.execute("INSERT INTO cycles VALUES (1, 'db01', '/r/', 'sync', " + T0.toEpochMilli() + ", "
                    + T0.plusSeconds(30).toEpochMilli() + ", 'ok', 1, 100, 50, 'none', 7, " + T0.toEpochMilli()
                    + ", NULL, 0)");
            s.execute("INSERT INTO cycles VALUES (2, 'db01', '/r/', 'sync', " + T0.plusSeconds(60).toEpochMilli()
                    + ", " + T0.plusSeconds(70).toEpochMilli() + ", 'transient', 0, 0, 0, NULL, NULL, NULL, 'cut', 0)");
            s.execute("PRAGMA user_version = 1");
        }
        try (Catalog c = Catalog.open(dir)) {
            List<Catalog.Row> rows = c.history(Optional.empty(), Optional.empty(), 10);
            assertEquals(List.of(), rows.get(0).cycle().points());
            assertEquals(List.of(7L), rows.get(1).cycle().points());
            assertEquals(Optional.of(T0), c.state("db01", "/r/", T0.plusSeconds(100)).lastPoint());
        }
        try (var db = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("catalog.db"));
                var s = db.createStatement(); var r = s.executeQuery("PRAGMA user_version")) {
            assertEquals(Catalog.VERSION, r.getInt(1));
        }
    }

    @Test
    void itIsInWalMode() throws Exception {
        Catalog.open(dir).close();
        try (var db = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("catalog.db"));
                var s = db.createStatement(); var r = s.executeQuery("PRAGMA journal_mode")) {
            assertEquals("wal", r.getString(1));
        }
    }
}
