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
    private final String node;
    private final HookContext context;

    public QemuHook(Path socket, String node, HookContext context) {
        this.socket = socket;
        this.node = node;
        this.context = context;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public Snapshot take(Path source, String replicaKey) throws SnapshotException {
        String id = StaleSnapshots.newId();
        Path overlay = context.stateDirectory().resolve("qemu").resolve(id + ".qcow2");
        Path nbd = context.stateDirectory().resolve("qemu").resolve(id + ".nbd");
        QmpClient qmp = connect();
        StaleSnapshots.Entry entry = null;
        try {
            DriveNode drive = DriveNode.find(qmp, node);
            drive.refuseForeignOverlay(qmp);
            BitmapState tracking = BitmapState.load(qmp, context.stateDirectory(), replicaKey, socket, drive);
            String oldBitmap = tracking.trusted() ? tracking.currentName() : null;
            String newBitmap = tracking.nextName();
            entry = context.registry().record(id, KIND, Map.of(
                    "socket", socket.toString(), "node", node, "image", drive.image().toString(),
                    "overlay", overlay.toString(), "nbd", nbd.toString(), "replicaKey", replicaKey,
                    "newBitmap", newBitmap, "oldBitmap", oldBitmap == null ? "" : oldBitmap));
            context.checkpoints().reached("qemu.recorded");
            Files.createDirectories(overlay.getParent());
            // -u: the size is given, so the running VM's image is not opened (a qcow2 in use is locked).
            context.runner().check(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", drive.backingFormat(),
                    "-b", drive.image().toString(), overlay.toString(), Long.toString(drive.size())),
                    context.stepTimeout());
            context.checkpoints().reached("qemu.overlay-created");
            ObjectNode add = QmpClient.args().put("driver", "qcow2").put("node-name", id);
            add.putObject("file").put("driver", "file").put("filename", overlay.toString());
            add.putNull("backing"); // attached by blockdev-snapshot, not opened from the header
            qmp.execute("blockdev-add", add);
            context.checkpoints().reached("qemu.overlay-added");
            qmp.execute("transaction", QmpClient.args().set("actions",
                    snapshotActions(id, oldBitmap, newBitmap, drive.storesBitmaps())));
            context.checkpoints().reached("qemu.snapshot-taken");
            tracking.dropUntrusted(qmp, node, newBitmap);
            Optional<NbdExport> export = Optional.empty();
            Tracking changes = Tracking.untracked(tracking.reason());
            if (!drive.readAsFile()) {
                export = Optional.of(exportView(qmp, id, nbd, oldBitmap));
                context.checkpoints().reached("qemu.exported");
                if (oldBitmap != null) {
                    changes = readChanges(export.get(), oldBitmap, drive.size(), tracking.replicaDigest());
                }
            } else if (oldBitmap != null) {
                changes = readChangesOfRawImage(qmp, id, nbd, oldBitmap, drive.size(), tracking.replicaDigest());
            }
            context.checkpoints().reached("qemu.changes-read");
            return new QemuSnapshot(this, qmp, entry, drive.image(), export, changes);
        } catch (SnapshotException | QmpException | IOException | InterruptedException | RuntimeException e) {
            SnapshotException failure = e instanceof SnapshotException s ? s
                    : new SnapshotException("qemu snapshot of " + node + " via " + socket + " failed: " + e.getMessage(),
                            e instanceof QmpException q && "DeviceNotFound".equals(q.errorClass()), e);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            if (entry != null) {
                try {
                    release(qmp, entry, null);
                } catch (SnapshotException releaseFailure) {
                    failure.addSuppressed(releaseFailure);
                }
            }
            qmp.close();
            throw failure;
        }
    }

    /**
     * One atomic transaction: the overlay goes on top, the bitmap that covered the time up to now
     * stops recording, and a new one starts. Done separately, a guest write between two commands
     * would land in neither bitmap's view of the snapshot, or in both. The new bitmap is added
     * first: a persistent one must be added while NODE is still the drive's writable top.
     */
    private ArrayNode snapshotActions(String overlayNode, String oldBitmap, String newBitmap, boolean persistent) {
        ArrayNode actions = QmpClient.json().createArrayNode();
        actions.addObject().put("type", "block-dirty-bitmap-add").putObject("data").put("node", node)
                .put("name", newBitmap).put("persistent", persistent);
        if (oldBitmap != null) {
            actions.addObject().put("type", "block-dirty-bitmap-disable").putObject("data").put("node", node)
                    .put("name", oldBitmap);
        }
        actions.addObject().put("type", "blockdev-snapshot").putObject("data").put("node", node)
                .put("overlay", overlayNode);
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
     * Exports the frozen NODE read-only over QEMU's own NBD server, on a socket in the state
     * directory, with the frozen bitmap when there is one. The server and export stay until
     * {@link #release}, which removes them by the record's socket.
     */
    private NbdExport exportView(QmpClient qmp, String id, Path nbd, String bitmap) throws QmpException {
        ObjectNode start = QmpClient.args();
        start.putObject("addr").put("type", "unix").putObject("data").put("path", nbd.toString());
        qmp.execute("nbd-server-start", start);
        ObjectNode add = QmpClient.args().put("type", "nbd").put("id", id).put("node-name", node).put("name", id)
                .put("writable", false);
        if (bitmap != null) {
            add.putArray("bitmaps").add(bitmap);
        }
        qmp.execute("block-export-add", add);
        return new NbdExport(nbd, id);
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
     * A raw image is read as a file; its export lives only while the bitmap is read. A failure
     * here is not fatal: the cycle scans.
     */
    private Tracking readChangesOfRawImage(QmpClient qmp, String id, Path nbd, String bitmap, long size,
            String replicaDigest) {
        try {
            return readChanges(exportView(qmp, id, nbd, bitmap), bitmap, size, replicaDigest);
        } catch (QmpException e) {
            return Tracking.untracked("cannot export dirty bitmap " + bitmap + ": " + e.getMessage());
        } finally {
            removeExport(qmp, id, nbd);
        }
    }

    /**
     * Removes this snapshot's export and the NBD server it started, if its socket says it did (a
     * server someone else runs makes our start fail before the socket exists, so it is never
     * stopped here). Best effort: both die with the VM anyway.
     */
    private static void removeExport(QmpClient qmp, String id, Path nbd) {
        if (!Files.exists(nbd)) {
            return;
        }
        ignore(() -> qmp.execute("block-export-del", QmpClient.args().put("id", id).put("mode", "hard")));
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
            release(qmp.orElse(null), entry, null);
        } finally {
            qmp.ifPresent(QmpClient::close);
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
            Path nbd = entry.optionalField("nbd").map(Path::of).orElse(null);
            if (vmReachable && nbd != null) {
                removeExport(qmp, overlayNode, nbd);
            }
            if (nbd != null) {
                Files.deleteIfExists(nbd);
            }
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
