package dev.standin.snapshot;

import dev.standin.snapshot.nbd.NbdExport;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A frozen, readable view of a disk for the length of one cycle. The contract every hook keeps:
 * <ul>
 *   <li>{@link #view()} MUST NOT change while the snapshot is open, whatever the guest writes.
 *   <li>{@link #close()} MUST release everything the hook made (overlays, snapshot LVs, copies,
 *       frozen filesystems) and MUST leave the VM running on its original disk chain, also when
 *       the cycle failed. It is idempotent.
 *   <li>{@link #replicated()} is called once the replica durably holds the view; a tracking hook
 *       then makes the next cycle's changes relative to this view. Without it (the cycle failed),
 *       the next cycle's changes MUST still include everything changed since the last replicated
 *       view.
 * </ul>
 */
public interface Snapshot extends AutoCloseable {

    /**
     * The image or block device to read: a raw image of the disk as it was when the snapshot was
     * made. With an {@link #export()}, the frozen image in a format only QEMU reads (qcow2), named
     * in messages and read through the export.
     */
    Path view();

    /**
     * The export that serves the view as a disk (the guest-visible bytes) when {@link #view()} is
     * not a raw image; it lives until {@link #close()}.
     */
    default Optional<NbdExport> export() {
        return Optional.empty();
    }

    /**
     * The VM's own definition as its platform keeps it, read at the view's instant, where the hook
     * reads one (esxi: the VM's {@code .vmx}); it travels with the VM point.
     */
    default Optional<String> definition() {
        return Optional.empty();
    }

    /** Whether the changed extents can be trusted, and what they are. */
    Tracking tracking();

    /**
     * The replica now holds exactly {@link #view()}, and its image digest is {@code replicaDigest};
     * advance change tracking to this view. The digest comes back in {@link Tracking#replicaDigest()}
     * next cycle, so the engine uses the changes only against that very replica content.
     */
    void replicated(String replicaDigest) throws SnapshotException;

    @Override
    void close() throws SnapshotException;
}
