package dev.standin.agent.replica;

import dev.standin.nativeio.NativeException;
import dev.standin.nativeio.NativeFile;
import dev.standin.nativeio.NativeIo;
import dev.standin.nativeio.UnsupportedOperationIOException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The recovery points of one replica (docs/points-format.md): a directory holding an index and
 * each point's data, a reflink clone of the replica where the filesystem can make one and undo
 * data (the pre-images the next cycle overwrote) otherwise.
 *
 * <p>A cycle moves the replica from its newest point N to a new point N+1 in three steps, each of
 * which survives a crash:
 * <ol>
 *   <li>{@link #beforeReplay}, once the journal is committed and before the replica's first write:
 *       capture undo-N if N is an undo point, then record N+1 as <em>pending</em>. A pending
 *       N+1 is the proof that undo-N is complete, so a replay run again after a crash (the replica
 *       possibly half-new) never captures again; without it the replica is untouched and the
 *       capture simply starts over.
 *   <li>The journal is replayed and deleted.
 *   <li>{@link #settle}: clone the replica as N+1 if the filesystem can, and record N+1 as settled.
 *       Recovery runs it whenever a pending point is left, journal or not.
 * </ol>
 * Nothing here runs unless the store's directory exists: {@link #create} is the opt-in.
 */
public final class PointStore {

    private static final String INDEX = "index";
    /** errno of open(2) for a file that is not there. */
    private static final int ENOENT = 2;

    private final Path directory;
    private final Path replica;
    private final boolean blockDevice;
    private final Optional<NativeIo> io;

    private PointStore(Path directory, Path replica, boolean blockDevice, Optional<NativeIo> io) {
        this.directory = directory;
        this.replica = replica;
        this.blockDevice = blockDevice;
        this.io = io;
    }

    /**
     * The store of {@code replica}: {@code DIR/.NAME.standin-points} beside a file;
     * {@code STATE_DIR/points/P-C.standin-points} for a device, named like its journal.
     */
    public static PointStore of(Path replica, boolean blockDevice, Path stateDirectory, Optional<NativeIo> io) {
        return forJournal(Journal.pathFor(replica, blockDevice, stateDirectory), replica, blockDevice, io);
    }

    /** The store of {@code replica}, a file or a block device (the latter told by the native library). */
    public static PointStore locate(Path replica, Path stateDirectory, Optional<NativeIo> io) throws IOException {
        boolean device = false;
        if (Files.exists(replica) && !Files.isRegularFile(replica) && io.isPresent()) {
            try (NativeFile f = io.get().open(replica, false)) {
                device = f.isBlockDevice();
            }
        }
        return of(replica, device, stateDirectory, io);
    }

    public boolean blockDevice() {
        return blockDevice;
    }

    /** The store of a file replica. */
    static PointStore beside(Path replica, Optional<NativeIo> io) {
        return new PointStore(replica.resolveSibling("." + replica.getFileName() + ".standin-points"), replica, false, io);
    }

    /** The store that goes with a journal: the same name in {@code points/} beside {@code journal/}. */
    static PointStore forJournal(Path journal, Path replica, boolean blockDevice, Optional<NativeIo> io) {
        if (!blockDevice) {
            return beside(replica, io);
        }
        String name = journal.getFileName().toString().replaceFirst("\\.standin-journal$", ".standin-points");
        return new PointStore(journal.toAbsolutePath().getParent().resolveSibling("points").resolve(name), replica, true,
                io);
    }

    public Path directory() {
        return directory;
    }

    public Path replica() {
        return replica;
    }

    public boolean exists() {
        return Files.isDirectory(directory, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /** All points, oldest first, the pending one (if any) last; empty if the store does not exist. */
    public List<Point> points() throws IOException {
        return index().points();
    }

    /** The file holding a point's data, or empty when the point is the replica itself (newest undo point). */
    public Optional<Path> dataOf(Point point) throws IOException {
        if (point.kind() == Point.Kind.CLONE) {
            return Optional.of(clonePath(point.id()));
        }
        Point newest = index().newest();
        return newest != null && newest.id() == point.id() ? Optional.empty() : Optional.of(undoPath(point.id()));
    }

    /**
     * Bytes the point's own file has allocated; 0 for the newest undo point (it is the replica).
     * A clone shares its unchanged extents with the replica and the other clones, so its figure is
     * what it would cost alone, an upper bound of what it costs.
     */
    public long bytesUsed(Point point) throws IOException {
        Optional<Path> data = dataOf(point);
        if (data.isEmpty() || !Files.exists(data.get())) {
            return 0;
        }
        if (io.isEmpty()) {
            return Files.size(data.get());
        }
        try (NativeFile f = io.get().open(data.get(), false)) {
            return f.allocatedBytes();
        } catch (NativeException e) {
            if (e.errno() == ENOENT) {
                return 0; // pruned by a cycle running now: the index read a moment ago still listed it
            }
            throw e;
        }
    }

    /** Makes the store exist (empty) so that the next commit records a point. */
    void create() throws IOException {
        SideFiles.refuseLink(directory);
        if (!exists()) {
            SideFiles.createDirectory(directory);
            Durability.syncDirectory(directory.toAbsolutePath().getParent());
        }
    }

    /** Removes every point: the index first (an empty store), then the data, then the directory. */
    void delete() throws IOException {
        if (!exists()) {
            return;
        }
        Files.deleteIfExists(directory.resolve(INDEX));
        Durability.syncDirectory(directory);
        try (Stream<Path> files = Files.list(directory)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
        Files.delete(directory);
        Durability.syncDirectory(directory.toAbsolutePath().getParent());
    }

    /**
     * Step 1 of a cycle (see the class comment), called by journal replay after the commit record
     * is durable and before anything is written to the replica. Idempotent.
     */
    void beforeReplay(long targetLength, int blockSize, byte[] targetDigest, UndoFile.Ranges ranges,
            Optional<UndoFile.Captured> captured) throws IOException {
        if (!exists()) {
            return;
        }
        PointIndex index = index();
        Point newest = index.newest();
        if (newest != null && newest.pending()) {
            return; // prepared before a crash: undo data complete, the replica perhaps half-new
        }
        if (newest != null && newest.kind() == Point.Kind.UNDO
                && !captured.equals(Optional.of(new UndoFile.Captured(newest.id(), newest.length(), targetLength)))) {
            checkReplicaHolds(newest);
            UndoFile.capture(undoPath(newest.id()), newest.id(), replica, newest.length(), targetLength, ranges);
        }
        index.with(pending(index.nextId(), targetLength, blockSize, targetDigest)).write(indexFile());
    }

    /**
     * Starts capturing the undo data of the newest point while the journal that will replace it is
     * written ({@link UndoFile.Capture}); empty when there is nothing to
     * capture: no store, no point, a clone point, or one still pending (recovery settles it first).
     * The caller passes what it finished to {@link Journal#replayCommitted}, whose {@link #beforeReplay}
     * then does not capture again.
     */
    Optional<UndoFile.Capture> startCapture(long targetLength) throws IOException {
        if (!exists()) {
            return Optional.empty();
        }
        Point newest = index().newest();
        if (newest == null || newest.pending() || newest.kind() != Point.Kind.UNDO) {
            return Optional.empty();
        }
        checkReplicaHolds(newest);
        return Optional.of(new UndoFile.Capture(undoPath(newest.id()), newest.id(), replica, newest.length(),
                targetLength, io));
    }

    /**
     * The points that are lost when the replica no longer holds its newest point (changed outside
     * standin, truncated, found drifted by a scrub): the newest undo point is the replica itself,
     * and every undo point after the newest clone is restored by applying undo data to it. Clones,
     * and undo points that a clone anchors, do not read the replica and stay. Empty when the
     * replica, {@code replicaLength} bytes whose image digest is {@code replicaDigest}, still is
     * its newest point, or when there is no settled undo point at the top.
     */
    public List<Point> lostWith(long replicaLength, byte[] replicaDigest) throws IOException {
        List<Point> points = points();
        Point newest = points.isEmpty() ? null : points.get(points.size() - 1);
        if (newest == null || newest.pending() || newest.kind() != Point.Kind.UNDO) {
            return List.of();
        }
        if (blockDevice && replicaLength != newest.length()) {
            return List.of(); // a device is read to the source's length: no digest of the point's length to compare
        }
        if (replicaLength == newest.length() && java.util.Arrays.equals(replicaDigest, newest.digest())) {
            return List.of();
        }
        return readingTheReplica(points);
    }

    /**
     * The points that are restored from the replica's content: the newest, if it is an undo
     * point, and the undo points before it back to the newest clone. What a replica that drifted
     * from its newest point takes with it.
     */
    public List<Point> readingTheReplica() throws IOException {
        return readingTheReplica(points());
    }

    private static List<Point> readingTheReplica(List<Point> points) {
        if (points.isEmpty() || points.get(points.size() - 1).pending()
                || points.get(points.size() - 1).kind() != Point.Kind.UNDO) {
            return List.of();
        }
        int first = points.size() - 1;
        while (first > 0 && points.get(first - 1).kind() == Point.Kind.UNDO) {
            first--;
        }
        return List.copyOf(points.subList(first, points.size()));
    }

    /**
     * Removes {@link #lostWith} points, index first (a crash then leaves only unlisted files,
     * which the next prune removes), so that a cycle can repair the replica from its source and
     * record a new point after the kept ones. Ids are not reused. Returns what was removed.
     */
    public List<Point> dropLost(long replicaLength, byte[] replicaDigest) throws IOException {
        List<Point> lost = lostWith(replicaLength, replicaDigest);
        if (lost.isEmpty()) {
            return lost;
        }
        PointIndex index = index();
        new PointIndex(index.nextId(), index.points().subList(0, index.points().size() - lost.size()))
                .write(indexFile());
        for (Point p : lost) {
            Files.deleteIfExists(undoPath(p.id()));
        }
        Durability.syncDirectory(directory);
        return lost;
    }

    private void checkReplicaHolds(Point newest) throws IOException {
        long size = replicaSize();
        if (size < newest.length()) {
            throw new IOException("replica " + replica + " holds " + size + " bytes but its point " + newest.id()
                    + " has " + newest.length() + ": it was changed outside standin; the next sync repairs it "
                    + "from its source and drops the points that depend on it");
        }
    }

    /**
     * The first copy starts a new history: points of whatever was there before are removed (undo
     * data cannot apply to a new image) and point 1 is recorded as pending, before the copy is
     * renamed into place.
     */
    void beforeFirstCopy(long length, int blockSize, byte[] digest) throws IOException {
        delete();
        create();
        PointIndex.EMPTY.with(pending(1, length, blockSize, digest)).write(indexFile());
    }

    private static Point pending(long id, long length, int blockSize, byte[] digest) {
        return new Point(id, Instant.now().truncatedTo(ChronoUnit.MILLIS), length, blockSize, digest, Point.Kind.UNDO,
                true);
    }

    /**
     * Step 3 of a cycle: the replica holds the pending point's image; clone it if the filesystem
     * can, and mark the point settled. Idempotent; nothing to do without a pending point.
     */
    void settle() throws IOException {
        if (!exists()) {
            return;
        }
        PointIndex index = index();
        Point newest = index.newest();
        if (newest == null || !newest.pending()) {
            return;
        }
        if (!Files.exists(replica) || (!blockDevice && Files.size(replica) != newest.length())) {
            // Only a first copy that never reached its rename leaves this: the point never existed.
            new PointIndex(index.nextId(), index.points().subList(0, index.points().size() - 1)).write(indexFile());
            return;
        }
        Point.Kind kind = cloneReplica(newest.id()) ? Point.Kind.CLONE : Point.Kind.UNDO;
        index.replacingNewest(newest.settled(kind)).write(indexFile());
    }

    /** Reflinks the replica to point-ID.img; false where the filesystem (or a device) cannot. */
    private boolean cloneReplica(long id) throws IOException {
        if (blockDevice || io.isEmpty()) {
            return false;
        }
        Path target = clonePath(id);
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        SideFiles.create(temp, true).close();
        try (NativeFile from = io.get().open(replica, false); NativeFile to = io.get().open(temp, true)) {
            to.cloneFrom(from);
            to.fsync();
        } catch (UnsupportedOperationIOException e) {
            Files.delete(temp); // ext4, tmpfs, another filesystem: undo data instead
            return false;
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + temp + " atomically", e);
        }
        Durability.syncDirectory(directory);
        return true;
    }

    /**
     * Keeps the newest {@code keep} points and removes the rest, oldest first. The newest point, the
     * one the replica is at, is never removed while keep ≥ 1; 0 leaves an empty index, which still
     * holds the next id so that ids are never reused. Files no kept point refers to (leftovers of a
     * crash) go too.
     */
    void prune(int keep) throws IOException {
        if (keep < 0) {
            throw new IllegalArgumentException("points to keep (" + keep + ") must be 0 or more");
        }
        if (!exists()) {
            return;
        }
        PointIndex index = index();
        PointIndex kept = index.newest(keep);
        if (kept.points().size() != index.points().size()) {
            kept.write(indexFile()); // first: a crash now leaves files that nothing lists, removed next time
        }
        List<String> wanted = new ArrayList<>(List.of(INDEX));
        for (Point p : kept.points()) {
            dataOf(p, kept).ifPresent(f -> wanted.add(f.getFileName().toString()));
        }
        boolean removed = false;
        try (Stream<Path> files = Files.list(directory)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (!wanted.contains(f.getFileName().toString())) {
                    Files.deleteIfExists(f);
                    removed = true;
                }
            }
        }
        if (removed) {
            Durability.syncDirectory(directory);
        }
    }

    private Optional<Path> dataOf(Point point, PointIndex index) {
        if (point.kind() == Point.Kind.CLONE) {
            return Optional.of(clonePath(point.id()));
        }
        return point.equals(index.newest()) ? Optional.empty() : Optional.of(undoPath(point.id()));
    }

    /**
     * How to materialise point {@code id}: start from a base image (a clone, or the replica when the
     * chain reaches the newest point) and apply undo files newest first.
     */
    public RestorePlan plan(long id) throws IOException {
        List<Point> points = index().points();
        int i = 0;
        while (i < points.size() && points.get(i).id() != id) {
            i++;
        }
        if (i == points.size() || points.get(i).pending()) {
            throw new IllegalArgumentException("there is no point " + id + " of " + replica + describe(points));
        }
        List<RestorePlan.Undo> undos = new ArrayList<>();
        for (int j = i; ; j++) {
            Point q = points.get(j);
            if (q.pending()) {
                throw new IOException("point " + q.id() + " of " + replica + " is still being committed; run standin sync"
                        + " to finish the interrupted cycle first");
            }
            if (q.kind() == Point.Kind.CLONE) {
                return new RestorePlan(points.get(i), clonePath(q.id()), q.length(), false, undos);
            }
            if (j == points.size() - 1) {
                return new RestorePlan(points.get(i), replica, q.length(), blockDevice, undos);
            }
            undos.add(0, new RestorePlan.Undo(q, undoPath(q.id()), points.get(j + 1).length()));
        }
    }

    private static String describe(List<Point> points) {
        List<Point> settled = points.stream().filter(p -> !p.pending()).toList();
        if (settled.isEmpty()) {
            return " (it has none)";
        }
        return " (it has " + settled.get(0).id() + " to " + settled.get(settled.size() - 1).id() + ")";
    }

    private long replicaSize() throws IOException {
        if (!blockDevice) {
            return Files.size(replica);
        }
        if (io.isEmpty()) {
            return Long.MAX_VALUE; // without the native library a device's size is unknown; the sync checked it
        }
        try (NativeFile device = io.get().open(replica, false)) {
            return device.size();
        }
    }

    private PointIndex index() throws IOException {
        return exists() ? PointIndex.read(indexFile()) : PointIndex.EMPTY;
    }

    private Path indexFile() {
        return directory.resolve(INDEX);
    }

    Path clonePath(long id) {
        return directory.resolve("point-" + id + ".img");
    }

    Path undoPath(long id) {
        return directory.resolve("undo-" + id);
    }
}
