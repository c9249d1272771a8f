package dev.standin.snapshot.qemu;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.standin.nativeio.Extent;
import dev.standin.snapshot.ChangedExtents;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import dev.standin.snapshot.nbd.NbdExport;
import dev.standin.snapshot.nbd.NbdImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code qemu:QMP_SOCKET:NODE}: a point-in-time view of a running VM's drive, spoken over QMP.
 *
 * <ol>
 *   <li>A qcow2 overlay (backing file: the drive's image) is created and added as a node.
 *   <li>One QMP {@code transaction} puts the overlay on top of NODE ({@code blockdev-snapshot}),
 *       so guest writes go to the overlay and the image under it is frozen, and at the same
 *       instant starts a new dirty bitmap and freezes the previous one. Nothing is paused.
 *   <li>The frozen NODE is exported read-only over QEMU's own NBD server on a UNIX socket in the
 *       state directory, with the frozen bitmap. A raw image is read as a plain file and the export
 *       only says which extents the bitmap marks; any other format (qcow2) is read through the
 *       export, which serves the guest-visible bytes and reports unallocated ranges as holes.
 *   <li>Release: the export and server go, then an active {@code block-commit} of the overlay into
 *       NODE, {@code block-job-complete} to pivot back, {@code blockdev-del} of the overlay, and
 *       the file is deleted. The drive's chain is exactly what it was.
 * </ol>
 *
 * The dirty bitmaps of a qcow2 NODE are persistent (QEMU stores them in the image), so tracking
 * survives a clean VM restart; of a raw NODE they are not, and the cycle after a restart scans.
 */
public final class QemuHook implements SnapshotHook {

    public static final String KIND = "qemu";
    private static final Duration REACHABLE = Duration.ofSeconds(10);

    private final Path socket;
    private final List<String> nodes;
    private final Optional<Path> guestAgent;
    private final HookContext context;

    /**
     * {@code nodes}: the drives to view together, one per disk of the cycle, in its order;
     * {@code guestAgent}: the host end of the guest agent's port, to freeze the guest's
     * filesystems for the instant of the views.
     */
    public QemuHook(Path socket, List<String> nodes, Optional<Path> guestAgent, HookContext context) {
        this.socket = socket;
        this.nodes = List.copyOf(nodes);
        this.guestAgent = guestAgent;
        this.context = context;
    }

    public QemuHook(Path socket, String node, HookContext context) {
        this(socket, node == null ? List.of() : List.of(node), Optional.empty(), context);
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public int disks() {
        return nodes.size();
    }

    @Override
    public Snapshot take(Path source, String replicaKey) throws SnapshotException {
        return takeAll(List.of(source), List.of(replicaKey)).get(0);
    }

    /** One drive's part of a take: what its record names, filled in as it is made. */
    private static final class Drive {
        final String id = StaleSnapshots.newId();
        final DriveNode node;
        final BitmapState tracking;
        final String oldBitmap;
        final String newBitmap;
        final Path overlay;
        StaleSnapshots.Entry entry;

        Drive(DriveNode node, BitmapState tracking, Path directory) {
            this.node = node;
            this.tracking = tracking;
            this.oldBitmap = tracking.trusted() ? tracking.currentName() : null;
            this.newBitmap = tracking.nextName();
            this.overlay = directory.resolve(id + ".qcow2");
        }
    }

    /**
     * Views of all the hook's drives at one instant: every overlay goes on top in one QMP
     * transaction, so a VM whose database is on one disk and its log on another is replicated as
     * it was at one moment. Each drive has its own record, snapshot and release.
     */
    @Override
    public List<Snapshot> takeAll(List<Path> sources, List<String> replicaKeys) throws SnapshotException {
        if (sources.size() != nodes.size() || replicaKeys.size() != nodes.size()) {
            throw new SnapshotException("--snapshot qemu names " + nodes.size() + " drive(s) (" + String.join(",", nodes)
                    + ") for " + sources.size() + " disk(s); name one node per SOURCE, in the same order", true);
        }
        if (new java.util.HashSet<>(nodes).size() != nodes.size()) {
            throw new SnapshotException("--snapshot qemu names a drive twice: " + String.join(",", nodes), true);
        }
        Path directory = context.stateDirectory().resolve("qemu");
        QmpClient qmp = connect();
        Session session = new Session(qmp, directory.resolve(StaleSnapshots.newId() + ".nbd"), nodes.size());
        List<Drive> drives = new ArrayList<>();
        try {
            for (int i = 0; i < nodes.size(); i++) {
                DriveNode node = DriveNode.find(qmp, nodes.get(i));
                if (i == 0) {
                    node.refuseForeignOverlay(qmp);
                }
                drives.add(new Drive(node, BitmapState.load(qmp, context.stateDirectory(), replicaKeys.get(i), socket, node),
                        directory));
            }
            for (Drive drive : drives) {
                Map<String, String> fields = new java.util.HashMap<>(Map.of(
                        "socket", socket.toString(), "node", drive.node.name(), "image", drive.node.image().toString(),
                        "overlay", drive.overlay.toString(), "nbd", session.nbd.toString(),
                        "replicaKey", drive.tracking.replicaKey(), "newBitmap", drive.newBitmap,
                        "oldBitmap", drive.oldBitmap == null ? "" : drive.oldBitmap));
                guestAgent.ifPresent(agent -> fields.put("guestAgent", agent.toString()));
                drive.entry = context.registry().record(drive.id, KIND, fields);
            }
            context.checkpoints().reached("qemu.recorded");
            Files.createDirectories(directory);
            for (Drive drive : drives) {
                // -u: the size is given, so the running VM's image is not opened (a qcow2 in use is locked).
                context.runner().check(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-u",
                        "-F", drive.node.backingFormat(), "-b", drive.node.image().toString(), drive.overlay.toString(),
                        Long.toString(drive.node.size())), context.stepTimeout());
            }
            context.checkpoints().reached("qemu.overlay-created");
            for (Drive drive : drives) {
                ObjectNode add = QmpClient.args().put("driver", "qcow2").put("node-name", drive.id);
                add.putObject("file").put("driver", "file").put("filename", drive.overlay.toString());
                add.putNull("backing"); // attached by blockdev-snapshot, not opened from the header
                qmp.execute("blockdev-add", add);
            }
            context.checkpoints().reached("qemu.overlay-added");
            ArrayNode actions = QmpClient.json().createArrayNode();
            for (Drive drive : drives) {
                actions.addAll(snapshotActions(drive));
            }
            if (guestAgent.isPresent()) {
                frozen(() -> qmp.execute("transaction", QmpClient.args().set("actions", actions)));
            } else {
                qmp.execute("transaction", QmpClient.args().set("actions", actions));
            }
            context.checkpoints().reached("qemu.snapshot-taken");
            List<Snapshot> snapshots = new ArrayList<>();
            for (Drive drive : drives) {
                snapshots.add(view(session, drive));
            }
            session.stopServerIfUnused();
            return snapshots;
        } catch (SnapshotException | IOException | InterruptedException | RuntimeException e) {
            SnapshotException failure = e instanceof SnapshotException s && !(e instanceof QmpException) ? s
                    : new SnapshotException("qemu snapshot of " + String.join(",", nodes) + " via " + socket + " failed: "
                            + e.getMessage(), e instanceof QmpException q && "DeviceNotFound".equals(q.errorClass()), e);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            removeExportsAndServer(qmp, drives.stream().map(d -> d.id).toList(), session.nbd);
            ignore(() -> Files.deleteIfExists(session.nbd));
            for (Drive drive : drives) {
                if (drive.entry != null) {
                    try {
                        release(qmp, drive.entry, null);
                    } catch (SnapshotException releaseFailure) {
                        failure.addSuppressed(releaseFailure);
                    }
                }
            }
            qmp.close();
            throw failure;
        }
    }

    /**
     * Runs {@code transaction} with the guest's filesystems frozen by its agent, so the views hold
     * what the guest's applications flushed and filesystems with clean journals. The guest is
     * thawed whatever happens, and thawing is retried: a guest left frozen stops its
     * applications. A guest that cannot be frozen fails the take (the user asked for a quiesced
     * view); a crash while frozen is thawed at the next start ({@link #releaseStale}).
     */
    private void frozen(QmpStep transaction) throws SnapshotException, QmpException {
        Path agentSocket = guestAgent.get();
        try (GuestAgent agent = GuestAgent.connect(agentSocket, context.stepTimeout())) {
            context.checkpoints().reached("qemu.guest-agent");
            Exception failure = null;
            try {
                agent.freeze();
                context.checkpoints().reached("qemu.frozen");
                transaction.run();
            } catch (Exception e) {
                failure = e;
            }
            Exception thawFailure = thaw(agent);
            if (thawFailure != null) {
                SnapshotException stuck = new SnapshotException("could not thaw the guest's filesystems through "
                        + agentSocket + " (they may still be frozen; thaw with guest-fsfreeze-thaw): "
                        + thawFailure.getMessage(), false, thawFailure);
                if (failure != null) {
                    stuck.addSuppressed(failure);
                }
                throw stuck;
            }
            if (failure instanceof QmpException q && q.getMessage().startsWith("guest agent")) {
                throw new SnapshotException("cannot freeze the guest's filesystems: " + q.getMessage(), false, q);
            }
            if (failure instanceof QmpException q) {
                throw q;
            }
            if (failure instanceof SnapshotException s) {
                throw s;
            }
            if (failure != null) {
                throw (RuntimeException) failure;
            }
        } catch (QmpException e) {
            if (e.getMessage().startsWith("guest agent")) { // connecting: no agent answers
                throw new SnapshotException("cannot freeze the guest's filesystems: " + e.getMessage(), false, e);
            }
            throw e;
        }
    }

    private interface QmpStep {
        void run() throws QmpException;
    }

    /** Thaws, three times at most; null once the agent says the guest is thawed. */
    private static Exception thaw(GuestAgent agent) {
        Exception last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                agent.thaw();
                if (agent.status().equals("thawed")) {
                    return null;
                }
                last = new QmpException("the guest agent still reports the filesystems frozen", null);
            } catch (QmpException e) {
                last = e;
            }
        }
        return last;
    }

    /**
     * The drive's view once the transaction has frozen it: exported over the session's NBD server
     * (read through it when not raw), with the changes its frozen bitmap marks.
     */
    private Snapshot view(Session session, Drive drive) throws QmpException, SnapshotException {
        drive.tracking.dropUntrusted(session.qmp, drive.node.name(), drive.newBitmap);
        Optional<NbdExport> export = Optional.empty();
        Tracking changes = Tracking.untracked(drive.tracking.reason());
        long size = drive.node.size();
        String digest = drive.tracking.replicaDigest();
        if (!drive.node.readAsFile()) {
            export = Optional.of(session.export(drive.id, drive.node.name(), drive.oldBitmap));
            context.checkpoints().reached("qemu.exported");
            if (drive.oldBitmap != null) {
                changes = readChanges(export.get(), drive.oldBitmap, size, digest);
            }
        } else if (drive.oldBitmap != null) {
            // A raw image is read as a file; its export lives only while the bitmap is read. A
            // failure here is not fatal: the cycle scans.
            try {
                changes = readChanges(session.export(drive.id, drive.node.name(), drive.oldBitmap), drive.oldBitmap, size,
                        digest);
            } catch (QmpException e) {
                changes = Tracking.untracked("cannot export dirty bitmap " + drive.oldBitmap + ": " + e.getMessage());
            } finally {
                session.unexport(drive.id);
            }
        }
        context.checkpoints().reached("qemu.changes-read");
        return new QemuSnapshot(session, drive.entry, drive.node.image(), export, changes);
    }

    /**
     * One drive's part of the transaction: its new bitmap starts, the bitmap that covered the time
     * up to now stops recording, and the overlay goes on top. In one transaction, no guest write
     * lands in neither bitmap's view of the snapshot, or in both. The new bitmap is added first: a
     * persistent one must be added while the drive is still its device's writable top.
     */
    private static ArrayNode snapshotActions(Drive drive) {
        String node = drive.node.name();
        ArrayNode actions = QmpClient.json().createArrayNode();
        actions.addObject().put("type", "block-dirty-bitmap-add").putObject("data").put("node", node)
                .put("name", drive.newBitmap).put("persistent", drive.node.storesBitmaps());
        if (drive.oldBitmap != null) {
            actions.addObject().put("type", "block-dirty-bitmap-disable").putObject("data").put("node", node)
                    .put("name", drive.oldBitmap);
        }
        actions.addObject().put("type", "blockdev-snapshot").putObject("data").put("node", node)
                .put("overlay", drive.id);
        return actions;
    }

    private QmpClient connect() throws SnapshotException {
        try {
            return QmpClient.connect(socket, context.stepTimeout());
        } catch (QmpException e) {
            throw new SnapshotException(e.getMessage(), false, e);
        }
    }

    /**
     * What the snapshots of one take share: the QMP connection and QEMU's NBD server (one per VM),
     * on a socket in the state directory. Releases run one at a time on it, and the last one
     * stops the server and closes the connection.
     */
    final class Session {
        final QmpClient qmp;
        final Path nbd;
        private int open;
        private final java.util.Set<String> exports = new java.util.HashSet<>();

        Session(QmpClient qmp, Path nbd, int snapshots) {
            this.qmp = qmp;
            this.nbd = nbd;
            this.open = snapshots;
        }

        /** Exports {@code node} read-only as {@code id}, with {@code bitmap} if not null; starts the server first. */
        synchronized NbdExport export(String id, String node, String bitmap) throws QmpException {
            if (!Files.exists(nbd)) {
                ObjectNode start = QmpClient.args();
                start.putObject("addr").put("type", "unix").putObject("data").put("path", nbd.toString());
                qmp.execute("nbd-server-start", start);
            }
            ObjectNode add = QmpClient.args().put("type", "nbd").put("id", id).put("node-name", node).put("name", id)
                    .put("writable", false);
            if (bitmap != null) {
                add.putArray("bitmaps").add(bitmap);
            }
            qmp.execute("block-export-add", add);
            exports.add(id);
            return new NbdExport(nbd, id);
        }

        synchronized void unexport(String id) {
            if (exports.remove(id)) {
                ignore(() -> qmp.execute("block-export-del", QmpClient.args().put("id", id).put("mode", "hard")));
            }
        }

        /** After the take: raw drives read their bitmaps and need the server no more. */
        synchronized void stopServerIfUnused() {
            if (exports.isEmpty()) {
                removeExportsAndServer(qmp, List.of(), nbd);
            }
        }

        /** One snapshot's release, then, after the last, the server and the connection. */
        synchronized void release(StaleSnapshots.Entry entry, String replicaDigest) throws SnapshotException {
            try {
                unexport(entry.id());
                if (--open == 0) {
                    removeExportsAndServer(qmp, List.of(), nbd);
                    ignore(() -> Files.deleteIfExists(nbd));
                }
                QemuHook.this.release(qmp, entry, replicaDigest);
            } finally {
                if (open == 0) {
                    qmp.close();
                }
            }
        }
    }

    /** The extents the frozen bitmap marks, asked of the export with NBD block status. */
    private Tracking readChanges(NbdExport export, String bitmap, long size, String replicaDigest) {
        try {
            ChangedExtents.Builder changes = ChangedExtents.builder(size);
            for (Extent extent : NbdImage.dirtyExtents(export, bitmap, context.stepTimeout())) {
                changes.add(extent.offset(), extent.length());
            }
            return Tracking.tracked("dirty-bitmap", changes.build(), replicaDigest);
        } catch (IOException | RuntimeException e) {
            return Tracking.untracked("cannot read dirty bitmap " + bitmap + ": " + e.getMessage());
        }
    }

    /**
     * Removes the exports named and the NBD server, if its socket says we started it (a server
     * someone else runs makes our start fail before the socket exists, so it is never stopped
     * here). Stopping the server drops every export of it. Best effort: both die with the VM anyway.
     */
    private static void removeExportsAndServer(QmpClient qmp, List<String> ids, Path nbd) {
        if (!Files.exists(nbd)) {
            return;
        }
        for (String id : ids) {
            ignore(() -> qmp.execute("block-export-del", QmpClient.args().put("id", id).put("mode", "hard")));
        }
        ignore(() -> qmp.execute("nbd-server-stop", null));
        ignore(() -> Files.deleteIfExists(nbd));
    }

    @Override
    public void releaseStale(StaleSnapshots.Entry entry) throws SnapshotException {
        Optional<QmpClient> qmp;
        try {
            qmp = Optional.of(QmpClient.connect(Path.of(entry.field("socket")), context.stepTimeout()));
        } catch (QmpException e) {
            qmp = Optional.empty();
        }
        try {
            // The process that froze the guest is gone: it may have died with the guest frozen.
            Optional<Path> agentSocket = entry.optionalField("guestAgent").map(Path::of);
            if (agentSocket.isPresent()) {
                thawStale(agentSocket.get());
            }
            // The process that read the export is gone: the server it started can go first.
            Optional<Path> nbd = entry.optionalField("nbd").map(Path::of);
            if (nbd.isPresent()) {
                qmp.ifPresent(q -> removeExportsAndServer(q, List.of(entry.id()), nbd.get()));
                ignore(() -> Files.deleteIfExists(nbd.get()));
            }
            release(qmp.orElse(null), entry, null);
        } finally {
            qmp.ifPresent(QmpClient::close);
        }
    }

    private void thawStale(Path agentSocket) throws SnapshotException {
        try (GuestAgent agent = GuestAgent.connect(agentSocket, context.stepTimeout())) {
            if (agent.status().equals("frozen")) {
                Exception failure = thaw(agent);
                if (failure != null) {
                    throw new SnapshotException("could not thaw the guest's filesystems through " + agentSocket + ": "
                            + failure.getMessage(), false, failure);
                }
            }
        } catch (QmpException e) {
            // No agent (the VM is gone, or it never ran one): nothing can be frozen.
        }
    }

    /**
     * Undoes whatever of the snapshot exists, in reverse order of making, and checks the result:
     * commits the overlay back into the drive and pivots (or, when the VM is gone, commits the
     * overlay file offline so no write the guest made is lost), removes the overlay, and settles
     * the bitmaps: after a replicated cycle the frozen one is dropped; otherwise it is merged
     * into the new one so the next cycle still sees every change since the last replicated view.
     */
    void release(QmpClient qmp, StaleSnapshots.Entry entry, String replicaDigest) throws SnapshotException {
        String overlayNode = entry.id();
        Path overlay = Path.of(entry.field("overlay"));
        String drive = entry.field("node");
        List<String> problems = new ArrayList<>();
        boolean vmReachable = qmp != null && reachable(qmp);
        try {
            if (vmReachable) {
                if (DriveNode.exists(qmp, overlayNode)) {
                    if (DriveNode.hasBacking(qmp, overlayNode)) { // on top of the drive: fold it back first
                        new ActiveCommit(qmp, overlayNode, drive, context.stepTimeout()).run();
                    }
                    qmp.execute("blockdev-del", QmpClient.args().put("node-name", overlayNode));
                }
                settleBitmaps(qmp, entry, replicaDigest);
            } else if (Files.exists(overlay)) {
                // The VM is gone with its latest writes in the overlay: fold them into the image.
                // qemu-img takes the image's write lock, so this fails (and keeps the record) if a
                // restarted VM already has the image open.
                context.runner().check(List.of("qemu-img", "commit", "-q", "-f", "qcow2", overlay.toString()),
                        context.stepTimeout());
            }
            Files.deleteIfExists(overlay);
            context.registry().remove(entry);
        } catch (QmpException | IOException e) {
            problems.add(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            problems.add("interrupted");
        }
        if (!problems.isEmpty()) {
            throw new SnapshotException("could not release qemu snapshot " + entry.id() + " of " + drive + " (record kept in "
                    + context.registry().directory() + ", overlay " + overlay + "): " + String.join("; ", problems), false);
        }
    }

    private void settleBitmaps(QmpClient qmp, StaleSnapshots.Entry entry, String replicaDigest)
            throws QmpException, IOException, SnapshotException {
        String drive = entry.field("node");
        String oldBitmap = entry.optionalField("oldBitmap").orElse("");
        String newBitmap = entry.field("newBitmap");
        List<String> present = DriveNode.bitmaps(qmp, drive);
        boolean replicated = replicaDigest != null;
        if (replicated) {
            BitmapState.store(context.stateDirectory(), entry.field("replicaKey"), socketOf(entry), drive,
                    Path.of(entry.field("image")), newBitmap, replicaDigest);
        }
        if (oldBitmap.isEmpty() || !present.contains(oldBitmap) || !present.contains(newBitmap)) {
            return; // the transaction never ran (the old bitmap still records) or there is nothing to settle
        }
        if (replicated) {
            qmp.execute("block-dirty-bitmap-remove", QmpClient.args().put("node", drive).put("name", oldBitmap));
            return;
        }
        // The cycle failed: the old bitmap must again cover everything since the replicated view.
        // One transaction, so no guest write falls between re-enabling it and dropping the new one.
        ArrayNode actions = QmpClient.json().createArrayNode();
        actions.addObject().put("type", "block-dirty-bitmap-enable").putObject("data").put("node", drive)
                .put("name", oldBitmap);
        ObjectNode merge = actions.addObject().put("type", "block-dirty-bitmap-merge").putObject("data")
                .put("node", drive).put("target", oldBitmap);
        merge.putArray("bitmaps").add(newBitmap);
        actions.addObject().put("type", "block-dirty-bitmap-remove").putObject("data").put("node", drive)
                .put("name", newBitmap);
        qmp.execute("transaction", QmpClient.args().set("actions", actions));
    }

    private static Path socketOf(StaleSnapshots.Entry entry) throws SnapshotException {
        return Path.of(entry.field("socket"));
    }

    /**
     * A VM that does not answer within 10 s (or the step timeout, if shorter) is treated as gone:
     * the offline commit that follows fails on QEMU's image lock if it is in fact only hung, and
     * the record is kept for the next start.
     */
    private boolean reachable(QmpClient qmp) {
        Duration limit = context.stepTimeout().compareTo(REACHABLE) < 0 ? context.stepTimeout() : REACHABLE;
        try {
            qmp.execute("query-status", null, limit);
            return true;
        } catch (QmpException e) {
            return false;
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    /** Best effort clean-up of an export: failing here must not hide the real result. */
    private static void ignore(Step step) {
        try {
            step.run();
        } catch (Exception e) {
            // the NBD server and export die with the VM anyway
        }
    }
}
