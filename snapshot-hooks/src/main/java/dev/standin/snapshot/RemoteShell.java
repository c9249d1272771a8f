package dev.standin.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;

/**
 * A shell on another host, as much of it as a hook needs. Implementations MUST quote every
 * argument for the remote shell (a path with spaces or quotes arrives as one argument), MUST check
 * the host key strictly, and MUST enforce the timeout by closing the channel.
 *
 * <p>The agent's SSH transport implements this ({@code SshRemoteShell}); the snapshot hooks depend
 * only on this interface so that they need no SSH library of their own.
 */
public interface RemoteShell extends AutoCloseable {

    /** How a remote command ended. */
    record Result(List<String> command, int exit, String stdout, String stderr) {
        public boolean ok() {
            return exit == 0;
        }

        public String describe() {
            return String.join(" ", command) + " exited with status " + exit
                    + (stderr.isBlank() ? "" : ": " + stderr.strip());
        }
    }

    Result run(List<String> command, Duration timeout) throws IOException;

    /**
     * Starts {@code command} and returns its stdout as a stream; closing the stream ends the
     * command. Reading fails with an IOException if the command exits non-zero.
     */
    InputStream open(List<String> command) throws IOException;

    @Override
    void close() throws IOException;

    /** {@code command} as one string for a POSIX shell: every argument single-quoted. */
    static String quote(List<String> command) {
        StringBuilder line = new StringBuilder();
        for (String argument : command) {
            if (line.length() > 0) {
                line.append(' ');
            }
            line.append('\'').append(argument.replace("'", "'\\''")).append('\'');
        }
        return line.toString();
    }

    /** Opens a shell on a host named the way the user wrote it ({@code [user@]host[:port]}). */
    @FunctionalInterface
    interface Connector {
        RemoteShell connect(String host) throws IOException;
    }
}
