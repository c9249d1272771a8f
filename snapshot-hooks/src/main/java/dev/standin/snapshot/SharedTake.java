package dev.standin.snapshot;

import dev.standin.snapshot.nbd.NbdExport;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The views of one {@link SnapshotHook#takeAll} that share what the take made (a backup job, the
 * qemu-nbd servers, one directory): each is served over NBD and released on its own, and the take
 * is released once, after the last of them.
 */
public final class SharedTake {

    /** Releases what the take made. */
    @FunctionalInterface
    public interface Release {
        void run() throws SnapshotException;
    }

    private final Release release;
    private int open;

    /** A take of {@code views} views, released by {@code release} after the last. */
    public SharedTake(int views, Release release) {
        this.open = views;
        this.release = release;
    }

    /** One of the take's views: {@code source} read through {@code export}. */
    public Snapshot view(Path source, NbdExport export, Tracking tracking) {
        return new Exported(source, export, tracking);
    }

    private synchronized void released() throws SnapshotException {
        if (--open == 0) {
            release.run();
        }
    }

    private final class Exported extends HeldSnapshot {
        private final NbdExport export;

        Exported(Path source, NbdExport export, Tracking tracking) {
            super(source, tracking);
            this.export = export;
        }

        @Override
        public Optional<NbdExport> export() {
            return Optional.of(export);
        }

        @Override
        protected void release(String replicaDigest) throws SnapshotException {
            released();
        }
    }
}
