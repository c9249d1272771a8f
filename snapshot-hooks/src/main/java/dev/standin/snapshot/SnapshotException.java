package dev.standin.snapshot;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;

/**
 * A hook could not make, read or release a snapshot: a {@link StandinException} with exit status
 * {@link ExitStatus#SNAPSHOT} whose {@link #isPermanent()} the hook decides (a missing VM or a bad
 * argument cannot be retried into success; a busy filesystem or a timed-out command may).
 */
public class SnapshotException extends StandinException {

    private static final long serialVersionUID = 1L;

    public SnapshotException(String message, boolean permanent) {
        super(ExitStatus.SNAPSHOT, message, null, permanent);
    }

    public SnapshotException(String message, boolean permanent, Throwable cause) {
        super(ExitStatus.SNAPSHOT, message, cause, permanent);
    }
}
