package dev.standin.supervisor.catalog;

import dev.standin.supervisor.policy.BootOutcome;
import dev.standin.supervisor.policy.CycleRecord;
import dev.standin.supervisor.policy.Health;
import dev.standin.supervisor.policy.Outcome;
import dev.standin.supervisor.policy.TargetState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The supervisor's record of what happened, in SQLite at {@code STATE_DIR/catalog.db}
 * (docs/catalog.md): every cycle and scrub, every health change. It survives kill -9 mid-write
 * (WAL: a transaction is in the log whole or not at all), its schema carries a version that
 * {@link #open} migrates forward, and {@link #prune} bounds it. One connection, used under this
 * object's lock: the supervisor writes a row per cycle, a rate SQLite does not notice.
 */
public final class Catalog implements AutoCloseable {

    /** The schema's version (PRAGMA user_version); each entry of MIGRATIONS takes it one step. */
    public static final int VERSION = 3;

    private static final List<List<String>> MIGRATIONS = List.of(List.of(
        "CREATE TABLE cycles (id INTEGER PRIMARY KEY, vm TEXT NOT NULL, target TEXT NOT NULL, kind TEXT NOT NULL,"
                + " started INTEGER NOT NULL, ended INTEGER NOT NULL, result TEXT NOT NULL, first_copy INTEGER NOT NULL,"
                + " bytes_read INTEGER NOT NULL, bytes_sent INTEGER NOT NULL, tracking TEXT, point_id INTEGER,"
                + " point_time INTEGER, error TEXT, needs_resync INTEGER NOT NULL)",
        "CREATE INDEX cycles_by_target ON cycles (vm, target, id)",
        "CREATE TABLE health_changes (id INTEGER PRIMARY KEY, vm TEXT NOT NULL, target TEXT NOT NULL,"
                + " at INTEGER NOT NULL, health TEXT NOT NULL, previous TEXT NOT NULL, reason TEXT NOT NULL)",
        "CREATE TABLE scrubs (cycle_id INTEGER PRIMARY KEY REFERENCES cycles (id) ON DELETE CASCADE,"
                + " blocks_checked INTEGER NOT NULL, blocks_repaired INTEGER NOT NULL, drifted INTEGER NOT NULL)",
        "CREATE TABLE paused (vm TEXT PRIMARY KEY, at INTEGER NOT NULL)"),
        // 2: a VM of several disks commits one point per disk; their ids, in disk order.
        List.of("ALTER TABLE cycles ADD COLUMN points TEXT",
                "UPDATE cycles SET points = CAST(point_id AS TEXT) WHERE point_id IS NOT NULL",
                "ALTER TABLE cycles DROP COLUMN point_id"),
        // 3: boot checks of VM points, and their verdicts.
        List.of("CREATE TABLE boot_checks (cycle_id INTEGER PRIMARY KEY REFERENCES cycles (id) ON DELETE CASCADE,"
                + " vm_point INTEGER NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL)"));

    private final Connection db;
    private final Path file;

    private Catalog(Connection db, Path file) {
        this.db = db;
        this.file = file;
    }

    /** Opens (creating) the catalog in {@code stateDir} and migrates it to {@link #VERSION}. */
    public static Catalog open(Path stateDir) throws CatalogException {
        Path file = stateDir.resolve("catalog.db");
        try {
            Files.createDirectories(stateDir);
            Connection db = DriverManager.getConnection("jdbc:sqlite:" + file);
            try (Statement s = db.createStatement()) {
                s.execute("PRAGMA busy_timeout = 5000");
                s.execute("PRAGMA journal_mode = WAL");
                s.execute("PRAGMA synchronous = NORMAL"); // with WAL: nothing torn by a crash of the process
                s.execute("PRAGMA foreign_keys = ON");
            }
            Catalog catalog = new Catalog(db, file);
            catalog.migrate();
            return catalog;
        } catch (SQLException | java.io.IOException e) {
            throw new CatalogException("catalog " + file + ": " + e.getMessage(), e);
        }
    }

    private void migrate() throws SQLException, CatalogException {
        int version;
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("PRAGMA user_version")) {
            version = r.getInt(1);
        }
        if (version > VERSION) {
            throw new CatalogException("catalog " + file + " has schema version " + version + ", newer than this "
                    + "standin's " + VERSION + "; run the newer standin, or move the file aside to start a new one");
        }
        db.setAutoCommit(false);
        try (Statement s = db.createStatement()) {
            for (int v = version; v < VERSION; v++) {
                for (String sql : MIGRATIONS.get(v)) {
                    s.execute(sql);
                }
                s.execute("PRAGMA user_version = " + (v + 1));
            }
            db.commit();
        } catch (SQLException e) {
            db.rollback();
            throw e;
        } finally {
            db.setAutoCommit(true);
        }
    }

    /** One finished cycle of {@code vm}'s {@code target}, with what it moved. */
    public record Cycle(String vm, String target, CycleRecord record, long bytesRead, long bytesSent,
            Optional<String> tracking, List<Long> points, Optional<Scrub> scrub) {

        public Cycle {
            points = List.copyOf(points);
        }
    }

    public record Scrub(long blocksChecked, long blocksRepaired, boolean drifted) { }

    /** A cycle as the catalog has it. */
    public record Row(long id, Cycle cycle) { }

    public synchronized long record(Cycle c) throws CatalogException {
        try {
            db.setAutoCommit(false);
            long id;
            try (PreparedStatement p = db.prepareStatement("INSERT INTO cycles (vm, target, kind, started, ended, result,"
                    + " first_copy, bytes_read, bytes_sent, tracking, points, point_time, error, needs_resync)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                CycleRecord r = c.record();
                p.setString(1, c.vm());
                p.setString(2, c.target());
                p.setString(3, r.kind());
                p.setLong(4, r.started().toEpochMilli());
                p.setLong(5, r.ended().toEpochMilli());
                p.setString(6, r.outcome().label());
                p.setInt(7, r.firstCopy() ? 1 : 0);
                p.setLong(8, c.bytesRead());
                p.setLong(9, c.bytesSent());
                setOptional(p, 10, c.tracking().orElse(null));
                setOptional(p, 11, c.points().isEmpty() ? null
                        : c.points().stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",")));
                if (r.pointTime().isPresent()) {
                    p.setLong(12, r.pointTime().get().toEpochMilli());
                } else {
                    p.setNull(12, Types.INTEGER);
                }
                setOptional(p, 13, r.error().orElse(null));
                p.setInt(14, r.needsResync() ? 1 : 0);
                p.executeUpdate();
                try (ResultSet keys = p.getGeneratedKeys()) {
                    keys.next();
                    id = keys.getLong(1);
                }
            }
            if (c.record().boot().isPresent()) {
                try (PreparedStatement p = db.prepareStatement("INSERT INTO boot_checks VALUES (?, ?, ?, ?)")) {
                    BootOutcome b = c.record().boot().get();
                    p.setLong(1, id);
                    p.setLong(2, b.vmPoint());
                    p.setString(3, b.verdict());
                    p.setString(4, b.reason());
                    p.executeUpdate();
                }
            }
            if (c.scrub().isPresent()) {
                try (PreparedStatement p = db.prepareStatement("INSERT INTO scrubs VALUES (?, ?, ?, ?)")) {
                    p.setLong(1, id);
                    p.setLong(2, c.scrub().get().blocksChecked());
                    p.setLong(3, c.scrub().get().blocksRepaired());
                    p.setInt(4, c.scrub().get().drifted() ? 1 : 0);
                    p.executeUpdate();
                }
            }
            db.commit();
            return id;
        } catch (SQLException e) {
            rollback();
            throw new CatalogException("catalog " + file + ": cannot record a cycle: " + e.getMessage(), e);
        } finally {
            autoCommit();
        }
    }

    public synchronized void recordHealth(String vm, String target, Instant at, Health health, Health previous,
            String reason) throws CatalogException {
        try (PreparedStatement p = db.prepareStatement("INSERT INTO health_changes (vm, target, at, health, previous,"
                + " reason) VALUES (?, ?, ?, ?, ?, ?)")) {
            p.setString(1, vm);
            p.setString(2, target);
            p.setLong(3, at.toEpochMilli());
            p.setString(4, health.label());
            p.setString(5, previous.label());
            p.setString(6, reason);
            p.executeUpdate();
        } catch (SQLException e) {
            throw new CatalogException("catalog " + file + ": cannot record a health change: " + e.getMessage(), e);
        }
    }

    /** Cycles, newest first: of {@code vm} if given, ended at or after {@code since} if given, at most {@code limit}. */
    public synchronized List<Row> history(Optional<String> vm, Optional<Instant> since, int limit)
            throws CatalogException {
        String sql = "SELECT c.*, s.blocks_checked, s.blocks_repaired, s.drifted, b.vm_point, b.verdict, b.reason"
                + " FROM cycles c LEFT JOIN scrubs s ON s.cycle_id = c.id LEFT JOIN boot_checks b ON b.cycle_id = c.id"
                + " WHERE (? IS NULL OR c.vm = ?) AND c.ended >= ?"
                + " ORDER BY c.id DESC LIMIT ?";
        try (PreparedStatement p = db.prepareStatement(sql)) {
            setOptional(p, 1, vm.orElse(null));
            setOptional(p, 2, vm.orElse(null));
            p.setLong(3, since.map(Instant::toEpochMilli).orElse(0L));
            p.setInt(4, limit);
            List<Row> rows = new ArrayList<>();
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    rows.add(row(r));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new CatalogException("catalog " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * What policy knew of {@code vm}'s {@code target} when the agent last ran: its last
     * {@link TargetState#MAX_RECENT} cycles replayed, oldest first.
     */
    public synchronized TargetState state(String vm, String target, Instant now) throws CatalogException {
        String sql = "SELECT c.*, s.blocks_checked, s.blocks_repaired, s.drifted, b.vm_point, b.verdict, b.reason"
                + " FROM cycles c LEFT JOIN scrubs s ON s.cycle_id = c.id LEFT JOIN boot_checks b ON b.cycle_id = c.id"
                + " WHERE c.vm = ? AND c.target = ? ORDER BY c.id DESC LIMIT ?";
        try (PreparedStatement p = db.prepareStatement(sql)) {
            p.setString(1, vm);
            p.setString(2, target);
            p.setInt(3, TargetState.MAX_RECENT);
            List<CycleRecord> records = new ArrayList<>();
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    records.add(0, row(r).cycle().record());
                }
            }
            Optional<Instant> lastPoint = lastPoint(vm, target);
            TargetState state = TargetState.fresh(records.isEmpty() ? now : records.get(0).started());
            for (CycleRecord c : records) {
                state = state.after(c);
            }
            return new TargetState(lastPoint.isPresent() ? lastPoint : state.lastPoint(), state.recent(),
                    state.consecutiveFailures(), state.permanent(), state.needsResync(), state.lastVerify(),
                    state.since(), state.lastBootCheck(), state.boot());
        } catch (SQLException e) {
            throw new CatalogException("catalog " + file + ": " + e.getMessage(), e);
        }
    }

    /** The health last recorded for {@code vm}'s {@code target}: what a change is measured from after a restart. */
    public synchronized Optional<Health> lastHealth(String vm, String target) throws CatalogException {
        try (PreparedStatement p = db.prepareStatement("SELECT health FROM health_changes WHERE vm = ? AND target = ?"
                + " ORDER BY id DESC LIMIT 1")) {
            p.setString(1, vm);
            p.setString(2, target);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? Optional.of(Health.valueOf(r.getString(1).toUpperCase(java.util.Locale.ROOT)
                        .replace('-', '_'))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new CatalogException("catalog " + file + ": " + e.getMessage(), e);
        }
    }

    /** VMs paused by {@code standin pause}: a pause outlives the agent. */
    public synchronized java.util.Set<String> paused() throws CatalogException {
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("SELECT vm FROM paused")) {
            java.util.Set<String> vms = new java.util.HashSet<>();
            while (r.next()) {
                vms.add(r.getString(1));
            }
            return vms;
        } catch (SQLException e) {
            throw new CatalogException("catalog " + file + ": " + e.getMessage(), e);
        }
    }

    public synchronized void setPaused(String vm, boolean paused, Instant at) throws CatalogException {
        try (PreparedStatement p = db.prepareStatement(paused ? "INSERT OR REPLACE INTO paused VALUES (?, ?)"
                : "DELETE FROM paused WHERE vm = ?")) {
            p.setString(1, vm);
            if (paused) {
                p.setLong(2, at.toEpochMilli());
            }
            p.executeUpdate();
        } catch (SQLException e) {
            throw new CatalogException("catalog " + file + ": " + e.getMessage(), e);
        }
    }

    private Optional<Instant> lastPoint(String vm, String target) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("SELECT MAX(point_time) FROM cycles WHERE vm = ? AND target = ?")) {
            p.setString(1, vm);
            p.setString(2, target);
            try (ResultSet r = p.executeQuery()) {
                long t = r.getLong(1);
                return r.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(t));
            }
        }
    }

    /** Removes cycles and health changes older than {@code age}, and cycles beyond the newest {@code maxCycles}. */
    public synchronized int prune(Instant now, Duration age, int maxCycles) throws CatalogException {
        long before = now.minus(age).toEpochMilli();
        try (PreparedStatement old = db.prepareStatement("DELETE FROM cycles WHERE ended < ? OR id <= "
                + "(SELECT id FROM cycles ORDER BY id DESC LIMIT 1 OFFSET ?)");
                PreparedStatement health = db.prepareStatement("DELETE FROM health_changes WHERE at < ?")) {
            old.setLong(1, before);
            old.setInt(2, maxCycles);
            int removed = old.executeUpdate();
            health.setLong(1, before);
            return removed + health.executeUpdate();
        } catch (SQLException e) {
            throw new CatalogException("catalog " + file + ": cannot prune: " + e.getMessage(), e);
        }
    }

    private static Row row(ResultSet r) throws SQLException {
        long pointTime = r.getLong("point_time");
        Optional<Instant> point = r.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(pointTime));
        String ids = r.getString("points");
        List<Long> points = ids == null || ids.isEmpty() ? List.of()
                : java.util.Arrays.stream(ids.split(",")).map(Long::valueOf).toList();
        String verdict = r.getString("verdict");
        Optional<BootOutcome> boot = verdict == null ? Optional.empty()
                : Optional.of(new BootOutcome(verdict, r.getLong("vm_point"), r.getString("reason")));
        CycleRecord record = new CycleRecord(r.getString("kind"), Instant.ofEpochMilli(r.getLong("started")),
                Instant.ofEpochMilli(r.getLong("ended")), Outcome.valueOf(r.getString("result").toUpperCase(
                        java.util.Locale.ROOT)), r.getInt("first_copy") != 0, point,
                Optional.ofNullable(r.getString("error")), r.getInt("needs_resync") != 0, boot);
        long checked = r.getLong("blocks_checked");
        Optional<Scrub> scrub = r.wasNull() ? Optional.empty()
                : Optional.of(new Scrub(checked, r.getLong("blocks_repaired"), r.getInt("drifted") != 0));
        return new Row(r.getLong("id"), new Cycle(r.getString("vm"), r.getString("target"), record,
                r.getLong("bytes_read"), r.getLong("bytes_sent"), Optional.ofNullable(r.getString("tracking")), points,
                scrub));
    }

    private static void setOptional(PreparedStatement p, int index, String value) throws SQLException {
        if (value == null) {
            p.setNull(index, Types.VARCHAR);
        } else {
            p.setString(index, value);
        }
    }

    private void rollback() {
        try {
            db.rollback();
        } catch (SQLException ignored) {
            // the connection is broken; the failure that brought us here is reported
        }
    }

    private void autoCommit() {
        try {
            db.setAutoCommit(true);
        } catch (SQLException ignored) {
            // as above
        }
    }

    @Override
    public synchronized void close() throws CatalogException {
        try {
            db.close();
        } catch (SQLException e) {
            throw new CatalogException("catalog " + file + ": " + e.getMessage(), e);
        }
    }
}
