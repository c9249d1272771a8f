package dev.standin.snapshot.qemu;

import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import java.nio.file.Path;

/** A running VM's drive with an overlay on top; the image under it is the view. */
final class QemuSnapshot implements Snapshot {

    private final QemuHook hook;
    private final QmpClient qmp;
    private final StaleSnapshots.Entry entry;
    private final Path image;
    private final Tracking tracking;
    private String replicaDigest;
    private boolean closed;

    QemuSnapshot(QemuHook hook, QmpClient qmp, StaleSnapshots.Entry entry, Path image, Tracking tracking) {
        this.hook = hook;
        this.qmp = qmp;
        this.entry = entry;
        this.image = image;
        this.tracking = tracking;
    }

    @Override
    public Path view() {
        return image;
    }

    @Override
    public Tracking tracking() {
        return tracking;
    }

    /** Takes effect at {@link #close()}, once the overlay is committed: the bitmaps are settled then. */
    @Override
    public void replicated(String replicaDigest) {
        this.replicaDigest = replicaDigest;
    }

    @Override
    public void close() throws SnapshotException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            hook.release(qmp, entry, replicaDigest);
        } finally {
            qmp.close();
        }
    }

    /** The record of what this snapshot made, for tests and diagnostics. */
    StaleSnapshots.Entry entry() {
        return entry;
    }
}
