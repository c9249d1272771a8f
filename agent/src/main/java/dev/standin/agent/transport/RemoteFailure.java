package dev.standin.agent.transport;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.IOException;

/** The other end reported that the cycle failed: its exit status, whether a retry can help, its one-line reason. */
public final class RemoteFailure extends IOException {

    private static final long serialVersionUID = 1L;
    private final int exitStatus;
    private final boolean permanent;

    RemoteFailure(Message.Failure failure) {
        super(failure.message());
        this.exitStatus = failure.exitStatus();
        this.permanent = failure.permanent();
    }

    public int exitStatus() {
        return exitStatus;
    }

    /** The failure as this side reports it: "receiver HOST: reason", with the receiver's status and permanence. */
    StandinException at(String host) {
        return new StandinException(ExitStatus.of(exitStatus), "receiver " + host + ": " + getMessage(), this,
                permanent);
    }
}
