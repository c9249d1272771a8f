package dev.standin.snapshot.qemu;

/** A QMP command failed, timed out, or the connection to QEMU broke. {@code errorClass} is QMP's, or null. */
public final class QmpException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String errorClass;

    public QmpException(String message, String errorClass) {
        super(message);
        this.errorClass = errorClass;
    }

    public QmpException(String message, String errorClass, Throwable cause) {
        super(message, cause);
        this.errorClass = errorClass;
    }

    public String errorClass() {
        return errorClass;
    }
}
