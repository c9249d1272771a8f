package dev.standin.snapshot.nbd;

import java.io.IOException;

/** The NBD server broke the protocol, refused a request, or answered with an error. */
public final class NbdException extends IOException {

    public NbdException(String message) {
        super(message);
    }

    public NbdException(String message, Throwable cause) {
        super(message, cause);
    }
}
