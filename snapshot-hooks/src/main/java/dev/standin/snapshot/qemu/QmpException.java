package dev.standin.snapshot.qemu;

import dev.standin.snapshot.SnapshotException;

/**
 * A QMP command failed, timed out, or the connection to QEMU broke: a snapshot failure a retry may
 * mend (QEMU busy, a job still running). {@code errorClass} is QMP's, or null.
 */
public final class QmpException extends SnapshotException {

    private static final long serialVersionUID = 1L;

    private final String errorClass;

    public QmpException(String message, String errorClass) {
        super(message, false);
        this.errorClass = errorClass;
    }

    public QmpException(String message, String errorClass, Throwable cause) {
        super(message, false, cause);
        this.errorClass = errorClass;
    }

    public String errorClass() {
        return errorClass;
    }
}
