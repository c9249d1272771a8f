package dev.standin.snapshot.qemu;

import dev.standin.snapshot.HeldSnapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import dev.standin.snapshot.nbd.NbdExport;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A running VM's drive with an overlay on top; the image under it is the view, read as a file when
 * raw, else through QEMU's NBD export of it.
 */
final class QemuSnapshot extends HeldSnapshot {

    private final QemuHook.Session session;
    private final StaleSnapshots.Entry entry;
    private final Optional<NbdExport> export;

    QemuSnapshot(QemuHook.Session session, StaleSnapshots.Entry entry, Path image, Optional<NbdExport> export,
            Tracking tracking) {
        super(image, tracking);
        this.session = session;
        this.entry = entry;
        this.export = export;
    }

    @Override
    public Optional<NbdExport> export() {
        return export;
    }

    /** Once the overlay is committed, the bitmaps are settled by whether the cycle was replicated. */
    @Override
    protected void release(String replicaDigest) throws SnapshotException {
        session.release(entry, replicaDigest);
    }

    /** The record of what this snapshot made, for tests and diagnostics. */
    StaleSnapshots.Entry entry() {
        return entry;
    }
}
