package dev.standin.snapshot;

import java.nio.file.Path;

/**
 * What every hook's snapshot shares: a view and its tracking fixed when it was taken, the
 * replica's digest once the cycle committed, and a release that runs exactly once. Hooks say only
 * how to release.
 */
public abstract class HeldSnapshot implements Snapshot {

    private final Path view;
    private final Tracking tracking;
    private String replicaDigest;
    private boolean closed;

    protected HeldSnapshot(Path view, Tracking tracking) {
        this.view = view;
        this.tracking = tracking;
    }

    @Override
    public final Path view() {
        return view;
    }

    @Override
    public final Tracking tracking() {
        return tracking;
    }

    /** Recorded here; a tracking hook acts on it when it releases (see {@link #release}). */
    @Override
    public final void replicated(String digest) {
        this.replicaDigest = digest;
    }

    @Override
    public final void close() throws SnapshotException {
        if (closed) {
            return;
        }
        closed = true;
        release(replicaDigest);
    }

    /**
     * Releases everything the hook made for this snapshot. {@code replicaDigest} is the digest of
     * the replica that now holds the view, or null if the cycle did not commit.
     */
    protected abstract void release(String replicaDigest) throws SnapshotException;
}
