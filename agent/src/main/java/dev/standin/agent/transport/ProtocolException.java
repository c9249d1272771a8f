package dev.standin.agent.transport;

import java.io.IOException;

/** The peer said something the protocol does not allow: a bad frame, checksum, type or field. */
public final class ProtocolException extends IOException {

    private static final long serialVersionUID = 1L;

    public ProtocolException(String message) {
        super(message);
    }
}
