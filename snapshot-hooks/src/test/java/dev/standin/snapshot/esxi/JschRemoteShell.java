package dev.standin.snapshot.esxi;

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import dev.standin.snapshot.RemoteShell;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A minimal {@link RemoteShell} over JSch for the esxi hook's tests in this module, which cannot
 * depend on the agent: key authentication, strict host key checking against a known_hosts file,
 * every argument single-quoted. The agent's {@code SshRemoteShell} is the one standin uses; the
 * agent's tests run the esxi hook through it.
 */
final class JschRemoteShell implements RemoteShell {

    private final Session session;

    private JschRemoteShell(Session session) {
        this.session = session;
    }

    static RemoteShell.Connector connector(int port, Path identity, Path knownHosts) {
        return host -> {
            try {
                JSch jsch = new JSch();
                jsch.addIdentity(identity.toString());
                jsch.setKnownHosts(knownHosts.toString());
                Session session = jsch.getSession("root", host, port);
                session.setConfig("StrictHostKeyChecking", "yes");
                session.connect(10_000);
                return new JschRemoteShell(session);
            } catch (JSchException e) {
                throw new IOException("ssh root@" + host + ":" + port + ": " + e.getMessage(), e);
            }
        };
    }

    static String quote(List<String> command) {
        return RemoteShell.quote(command);
    }

    @Override
    public Result run(List<String> command, Duration timeout) throws IOException {
        try {
            ChannelExec channel = (ChannelExec) session.openChannel("exec");
            channel.setCommand(quote(command));
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            channel.setErrStream(err);
            InputStream in = channel.getInputStream();
            channel.connect(10_000);
            long deadline = System.nanoTime() + timeout.toNanos();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            while (true) {
                while (in.available() > 0) {
                    out.write(buffer, 0, in.read(buffer));
                }
                if (channel.isClosed() && in.available() == 0) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    channel.disconnect();
                    throw new IOException(quote(command) + " timed out after " + timeout.toSeconds() + " s");
                }
                Thread.sleep(5);
            }
            int exit = channel.getExitStatus();
            channel.disconnect();
            return new Result(List.copyOf(command), exit, out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8));
        } catch (JSchException e) {
            throw new IOException(e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    @Override
    public InputStream open(List<String> command) throws IOException {
        try {
            ChannelExec channel = (ChannelExec) session.openChannel("exec");
            channel.setCommand(quote(command));
            InputStream in = channel.getInputStream();
            channel.connect(10_000);
            return new FilterInputStream(in) {
                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = super.read(b, off, len);
                    if (n < 0) {
                        checkExit();
                    }
                    return n;
                }

                private void checkExit() throws IOException {
                    for (int i = 0; i < 200 && !channel.isClosed(); i++) {
                        try {
                            Thread.sleep(5);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            break;
                        }
                    }
                    if (channel.getExitStatus() != 0) {
                        throw new IOException(quote(command) + " exited with status " + channel.getExitStatus());
                    }
                }

                @Override
                public void close() {
                    channel.disconnect();
                }
            };
        } catch (JSchException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        session.disconnect();
    }
}
