package dev.standin.agent.transport;

import dev.standin.failure.StandinException;
import dev.standin.snapshot.RemoteShell;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The snapshot hooks' {@link RemoteShell} (the esxi hook's way to its ESX host) over the same SSH
 * transport as replication: the same strict host key check, the same keys (-i, ssh-agent,
 * ~/.ssh/config), never a password. Every argument is single-quoted for the remote shell.
 */
public final class SshRemoteShell implements RemoteShell {

    private final SshConnection connection;

    private SshRemoteShell(SshConnection connection) {
        this.connection = connection;
    }

    /**
     * Connects to hosts written as {@code [user@]host}; user, port and keys otherwise come from
     * {@code options} and ~/.ssh/config, as for a replica.
     */
    public static RemoteShell.Connector connector(SshOptions options) {
        return host -> {
            int at = host.lastIndexOf('@');
            RemoteLocation location = new RemoteLocation(at < 0 ? "" : host.substring(0, at), host.substring(at + 1), 0,
                    "/");
            try {
                return new SshRemoteShell(SshConnection.open(location, options));
            } catch (StandinException e) {
                throw new IOException(e.getMessage(), e);
            }
        };
    }

    @Override
    public Result run(List<String> command, Duration timeout) throws IOException {
        SshConnection.Exec exec = exec(command);
        try (exec) {
            exec.output().close(); // nothing on stdin
            ByteArrayOutputStream stdout = new ByteArrayOutputStream();
            Thread reader = new Thread(() -> {
                try {
                    exec.input().transferTo(stdout);
                } catch (IOException e) {
                    // the channel was closed: on timeout, below
                }
            }, "standin-remote-stdout");
            reader.setDaemon(true);
            reader.start();
            reader.join(timeout.toMillis());
            int exit = exec.awaitExit(reader.isAlive() ? 0 : TimeUnit.SECONDS.toMillis(10));
            if (reader.isAlive() || exit < 0) {
                throw new IOException(RemoteShell.quote(command) + " on " + connection.location().host()
                        + " did not finish within " + timeout.toSeconds() + " s");
            }
            return new Result(List.copyOf(command), exit, stdout.toString(StandardCharsets.UTF_8), exec.stderr());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while " + RemoteShell.quote(command) + " ran", e);
        }
    }

    @Override
    public InputStream open(List<String> command) throws IOException {
        SshConnection.Exec exec = exec(command);
        exec.output().close();
        return new FilterInputStream(exec.input()) {
            private boolean checked;

            @Override
            public int read() throws IOException {
                int b = super.read();
                return b < 0 ? endOfStream() : b;
            }

            @Override
            public int read(byte[] buffer, int offset, int length) throws IOException {
                int n = super.read(buffer, offset, length);
                return n < 0 ? endOfStream() : n;
            }

            /** At the end of its output, a command that failed makes the read fail, not end short. */
            private int endOfStream() throws IOException {
                if (!checked) {
                    checked = true;
                    int exit;
                    try {
                        exit = exec.awaitExit(TimeUnit.SECONDS.toMillis(30));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while " + RemoteShell.quote(command) + " ended", e);
                    }
                    if (exit != 0) {
                        throw new IOException(RemoteShell.quote(command) + " on " + connection.location().host()
                                + (exit < 0 ? " did not end" : " exited with status " + exit)
                                + (exec.stderr().isEmpty() ? "" : ": " + exec.stderr()));
                    }
                }
                return -1;
            }

            @Override
            public void close() {
                exec.close();
            }
        };
    }

    private SshConnection.Exec exec(List<String> command) throws IOException {
        try {
            return connection.exec(RemoteShell.quote(command));
        } catch (StandinException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        connection.close();
    }
}
