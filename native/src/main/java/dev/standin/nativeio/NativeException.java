package dev.standin.nativeio;

import java.io.IOException;

/**
 * A system call failed. Carries the errno so callers can branch on it without parsing text;
 * the message reads {@code "OPERATION PATH: strerror (ERRNO_NAME)"}, e.g.
 * {@code "open /var/lib/x.img: No such file or directory (ENOENT)"}.
 */
public class NativeException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String operation;
    private final String target;
    private final int errno;

    NativeException(String operation, String target, int errno, String description) {
        this(formatMessage(operation, target, errno, description), operation, target, errno);
    }

    /** For subclasses that prefix the standard message with their own explanation. */
    NativeException(String message, String operation, String target, int errno) {
        super(message);
        this.operation = operation;
        this.target = target;
        this.errno = errno;
    }

    static String formatMessage(String operation, String target, int errno, String description) {
        return operation + " " + target + ": " + description + " (" + Errno.name(errno) + ")";
    }

    /** The failing call as named in the message, e.g. "open", "FICLONE", "fallocate(PUNCH_HOLE)". */
    public String operation() {
        return operation;
    }

    /** What the call acted on: usually the path the file was opened with. */
    public String target() {
        return target;
    }

    /** The raw errno value (Linux x86_64 numbering). */
    public int errno() {
        return errno;
    }

    /** The symbolic errno name, e.g. "ENOSPC", or "E" + number for unknown values. */
    public String errnoName() {
        return Errno.name(errno);
    }
}
