package dev.standin.delta.stream;

import java.io.IOException;

/** A delta stream that is truncated, corrupt, out of order or out of range. Never retried as is. */
public final class DeltaFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    public DeltaFormatException(String message) {
        super(message);
    }

    public DeltaFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
