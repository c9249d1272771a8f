package dev.standin.snapshot;

/**
 * A hook could not make, read or release a snapshot. {@link #isPermanent()} tells a supervisor
 * whether retrying the same cycle unchanged can help (a missing VM or a bad argument cannot; a
 * busy filesystem or a timed-out command may).
 */
public class SnapshotException extends Exception {

    private static final long serialVersionUID = 1L;

    private final boolean permanent;

    public SnapshotException(String message, boolean permanent) {
        super(message);
        this.permanent = permanent;
    }

    public SnapshotException(String message, boolean permanent, Throwable cause) {
        super(message, cause);
        this.permanent = permanent;
    }

    public boolean isPermanent() {
        return permanent;
    }
}
