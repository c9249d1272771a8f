package dev.standin.snapshot.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.standin.snapshot.ChangedExtents;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
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
 *   <li>The engine reads the image file directly; the frozen bitmap (exported over QEMU's NBD
 *       server and read with {@code qemu-img map}) says which extents changed.
 *   <li>Release: an active {@code block-commit} of the overlay into NODE, {@code block-job-complete}
 *       to pivot back, {@code blockdev-del} of the overlay, and the file is deleted. The drive's
 *       chain is exactly what it was.
 * </ol>
 *
 * NODE must be a raw image (format node {@code raw} over {@code file}, or a {@code file} node): the
 * engine reads the frozen image as a plain file. The dirty bitmaps are therefore not persistent
 * (QEMU stores persistent bitmaps only in qcow2): a VM restart loses them and the next cycle scans.
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
                    "overlay", overlay.toString(), "replicaKey", replicaKey, "newBitmap", newBitmap,
                    "oldBitmap", oldBitmap == null ? "" : oldBitmap));
            context.checkpoints().reached("qemu.recorded");
            Files.createDirectories(overlay.getParent());
            context.runner().check(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                    "-b", drive.image().toString(), overlay.toString(), Long.toString(drive.size())),
                    context.stepTimeout());
            context.checkpoints().reached("qemu.overlay-created");
            ObjectNode add = QmpClient.args().put("driver", "qcow2").put("node-name", id);
            add.putObject("file").put("driver", "file").put("filename", overlay.toString());
            add.putNull("backing"); // attached by blockdev-snapshot, not opened from the header
            qmp.execute("blockdev-add", add);
            context.checkpoints().reached("qemu.overlay-added");
            qmp.execute("transaction", QmpClient.args().set("actions", snapshotActions(id, oldBitmap, newBitmap)));
            context.checkpoints().reached("qemu.snapshot-taken");
            tracking.dropUntrusted(qmp, node, newBitmap);
            Tracking changes = oldBitmap == null ? Tracking.untracked(tracking.reason())
                    : readChanges(qmp, id, oldBitmap, drive.size(), tracking.replicaDigest());
            context.checkpoints().reached("qemu.changes-read");
            return new QemuSnapshot(this, qmp, entry, drive.image(), changes);
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
     * would land in neither bitmap's view of the snapshot, or in both.
     */
    private ArrayNode snapshotActions(String overlayNode, String oldBitmap, String newBitmap) {
        ArrayNode actions = QmpClient.json().createArrayNode();
        actions.addObject().put("type", "blockdev-snapshot").putObject("data").put("node", node)
                .put("overlay", overlayNode);
        if (oldBitmap != null) {
            actions.addObject().put("type", "block-dirty-bitmap-disable").putObject("data").put("node", node)
                    .put("name", oldBitmap);
        }
        actions.addObject().put("type", "block-dirty-bitmap-add").putObject("data").put("node", node)
                .put("name", newBitmap).put("persistent", false);
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
     * Exports the drive's frozen image read-only over QEMU's own NBD server with the frozen bitmap
     * attached, and asks {@code qemu-img map} for it: dirty ranges come back as {@code "data": false}
     * (the bitmap is presented in place of allocation). A failure here is not fatal: the cycle scans.
     */
    private Tracking readChanges(QmpClient qmp, String id, String bitmap, long size, String replicaDigest) {
        Path nbd = context.stateDirectory().resolve("qemu").resolve(id + ".nbd");
        String export = id;
        boolean serverStarted = false;
        boolean exported = false;
        try {
            ObjectNode start = QmpClient.args();
            start.putObject("addr").put("type", "unix").putObject("data").put("path", nbd.toString());
            qmp.execute("nbd-server-start", start);
            serverStarted = true;
            ObjectNode add = QmpClient.args().put("type", "nbd").put("id", export).put("node-name", node)
                    .put("name", export).put("writable", false);
            add.putArray("bitmaps").add(bitmap);
            qmp.execute("block-export-add", add);
            exported = true;
            CommandRunner.Result map = context.runner().check(List.of("qemu-img", "map", "--output=json", "--image-opts",
                    "driver=nbd,server.type=unix,server.path=" + nbd + ",export=" + export
                            + ",x-dirty-bitmap=qemu:dirty-bitmap:" + bitmap), context.stepTimeout());
            ChangedExtents.Builder changes = ChangedExtents.builder(size);
            for (JsonNode extent : QmpClient.json().readTree(map.stdout())) {
                if (!extent.path("data").asBoolean(true)) {
                    changes.add(extent.path("start").asLong(), extent.path("length").asLong());
                }
            }
            return Tracking.tracked("dirty-bitmap", changes.build(), replicaDigest);
        } catch (QmpException | IOException | RuntimeException e) {
            return Tracking.untracked("cannot read dirty bitmap " + bitmap + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Tracking.untracked("interrupted while reading dirty bitmap " + bitmap);
        } finally {
            if (exported) {
                ignore(() -> qmp.execute("block-export-del", QmpClient.args().put("id", export)));
            }
            if (serverStarted) {
                ignore(() -> qmp.execute("nbd-server-stop", null));
            }
            ignore(() -> Files.deleteIfExists(nbd));
        }
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

    /** Best effort clean-up of a temporary export: failing here must not hide the real result. */
    private static void ignore(Step step) {
        try {
            step.run();
        } catch (Exception e) {
            // the NBD server and export die with the VM anyway
        }
    }
}
