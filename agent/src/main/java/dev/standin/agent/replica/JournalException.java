package dev.standin.agent.replica;

import java.io.IOException;

/** A journal this build must not replay nor discard: the operator has to decide. */
public final class JournalException extends IOException {

    private static final long serialVersionUID = 1L;

    public JournalException(String message) {
        super(message);
    }
}
