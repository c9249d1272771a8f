package dev.standin.agent.sync;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.delta.stream.DeltaFormatException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** Turns what went wrong into the one-line error and exit status the user sees. */
public final class Failures {

    private Failures() {}

    /** {@code side} is "source " or "destination ": who the I/O error belongs to. */
    public static StandinException wrap(Exception e, String side) {
        if (e instanceof StandinException s) {
            return s;
        }
        if (isInterruption(e)) {
            return new StandinException(ExitStatus.INTERRUPTED, "interrupted; the replica is unchanged", e);
        }
        if (e instanceof IOException io) {
            return classify(io, side);
        }
        return new StandinException(ExitStatus.ERROR, "internal error: " + e, e);
    }

    /**
     * Whether {@code t} is how an interrupted thread's work ends. A socket timeout is an
     * {@link InterruptedIOException} too, but it is the network's failure, not an interruption.
     */
    public static boolean isInterruption(Throwable t) {
        return t instanceof InterruptedException
                || (t instanceof InterruptedIOException && !(t instanceof java.net.SocketTimeoutException))
                || t instanceof java.nio.channels.ClosedByInterruptException;
    }

    public static StandinException classify(IOException e, String side) {
        if (e instanceof DeltaFormatException) {
            return new StandinException(ExitStatus.PROTOCOL, "bad delta stream: " + e.getMessage(), e);
        }
        ExitStatus status = side.startsWith("source") ? ExitStatus.SOURCE : ExitStatus.DESTINATION;
        String what = e.getMessage();
        if (e instanceof NoSuchFileException) {
            what = e.getMessage() + ": no such file or directory";
        } else if (e instanceof AccessDeniedException) {
            what = e.getMessage() + ": permission denied";
        }
        if (what != null && what.contains("No space left")) {
            status = ExitStatus.DESTINATION;
        }
        return new StandinException(status, side + what, e);
    }
}
