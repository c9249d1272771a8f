package dev.standin.nativeio;

/**
 * The kernel or filesystem answered "not supported here" (EOPNOTSUPP, ENOTTY, EXDEV and the like)
 * rather than "this failed". Callers catch this to fall back to a plain-Java path, e.g. copying
 * bytes instead of a reflink clone, or writing zeros instead of punching a hole.
 */
public final class UnsupportedOperationIOException extends NativeException {

    private static final long serialVersionUID = 1L;

    private final String reason;

    UnsupportedOperationIOException(String reason, String operation, String target, int errno, String description) {
        super(reason + ": " + formatMessage(operation, target, errno, description), operation, target, errno);
        this.reason = reason;
    }

    /** The short explanation the message starts with, e.g. "reflink clones are not supported on this filesystem". */
    public String reason() {
        return reason;
    }
}
