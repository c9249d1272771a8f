package dev.standin.agent.transport;

import java.io.IOException;

/** The other end reported that the cycle failed, with its exit status and its one-line reason. */
public final class RemoteFailure extends IOException {

    private static final long serialVersionUID = 1L;
    private final int exitStatus;

    public RemoteFailure(int exitStatus, String message) {
        super(message);
        this.exitStatus = exitStatus;
    }

    public int exitStatus() {
        return exitStatus;
    }
}
