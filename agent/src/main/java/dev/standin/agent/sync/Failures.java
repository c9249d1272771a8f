package dev.standin.agent.sync;

import dev.standin.delta.stream.DeltaFormatException;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** Turns what went wrong into the one-line error and exit status the user sees. */
public final class Failures {

    /** For the constructors that take a permanence: a retry of the same cycle, unchanged, cannot succeed. */
    public static final boolean PERMANENT = true;

    private Failures() {}

    /**
     * {@code side} is "source " or "destination " (or either followed by the file and ": "): who
     * the I/O error belongs to; it begins the message.
     */
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

    /** An I/O error of {@code side} (as for {@link #wrap}); a full disk is permanent, other errors may pass. */
    public static StandinException classify(IOException e, String side) {
        if (e instanceof DeltaFormatException) {
            return new StandinException(ExitStatus.PROTOCOL, "bad delta stream: " + e.getMessage(), e);
        }
        ExitStatus status = side.startsWith("source") ? ExitStatus.SOURCE : ExitStatus.DESTINATION;
        String what = reason(e);
        if (isFull(what)) {
            // Retrying cannot help until somebody frees space: the supervisor alerts at once
            // (critical) instead of retrying every few minutes into the same full disk.
            return new StandinException(ExitStatus.DESTINATION, side + what, e, PERMANENT);
        }
        return new StandinException(status, side + what, e);
    }

    /** ENOSPC or EDQUOT, as the C library words them (and Java passes them on). */
    private static boolean isFull(String reason) {
        return reason.contains("No space left on device") || reason.contains("Disk quota exceeded");
    }

    /**
     * What went wrong, in words, as rsync and the C library say it ("Permission denied", "host
     * not found"): Java names some causes only by their class, and an AccessDeniedException's
     * message is just the file's name.
     */
    public static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.UnknownHostException) {
                return (t.getMessage() == null ? "host" : t.getMessage()) + ": host not found";
            }
            if (t instanceof java.net.ConnectException) {
                return "connection refused";
            }
            if (t instanceof java.net.NoRouteToHostException) {
                return "no route to host";
            }
            if (t instanceof java.net.SocketTimeoutException) {
                return "connection timed out";
            }
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() == null) {
            String name = f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile());
            return name + ": " + fileSystemReason(f);
        }
        String message = e.getMessage();
        if ((message == null || message.isBlank()) && e instanceof java.io.EOFException) {
            return "unexpected end of file";
        }
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName().replaceAll("(Exception|Error)$", "")
                    .replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
        }
        return message;
    }

    /** The C library's words for the errors Java reports by class alone. */
    private static String fileSystemReason(java.nio.file.FileSystemException f) {
        if (f instanceof AccessDeniedException) {
            return "Permission denied";
        } else if (f instanceof NoSuchFileException) {
            return "No such file or directory";
        } else if (f instanceof java.nio.file.FileAlreadyExistsException) {
            return "File exists";
        } else if (f instanceof java.nio.file.NotDirectoryException) {
            return "Not a directory";
        } else if (f instanceof java.nio.file.DirectoryNotEmptyException) {
            return "Directory not empty";
        } else if (f instanceof java.nio.file.NotLinkException) {
            return "Not a symbolic link";
        } else if (f instanceof java.nio.file.FileSystemLoopException) {
            return "Too many levels of symbolic links";
        }
        return f.getClass().getSimpleName().replaceAll("Exception$", "").replaceAll("([a-z])([A-Z])", "$1 $2")
                .toLowerCase(java.util.Locale.ROOT);
    }
}
