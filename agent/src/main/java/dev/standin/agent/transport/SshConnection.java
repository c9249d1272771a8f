package dev.standin.agent.transport;

import com.jcraft.jsch.AgentIdentityRepository;
import com.jcraft.jsch.AgentProxyException;
import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.HostKeyRepository;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.OpenSSHConfig;
import com.jcraft.jsch.SSHAgentConnector;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.UserInfo;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * One SSH connection to a replica host (JSch). Several disks share it: each cycle opens its own
 * exec channel running {@code standin serve}, and SSH multiplexes the channels over one TCP
 * connection and one key exchange.
 *
 * <p>Host keys are checked strictly against known_hosts: an unknown host or a changed key is
 * refused, with the fingerprint of the key the host offered, exactly as OpenSSH prints it, so
 * the operator can compare it with the host's {@code ssh-keygen -lf}. AES-GCM is preferred
 * because it is one pass over the data with AES-NI, where CTR+HMAC is two.
 */
public final class SshConnection implements AutoCloseable {

    /** Preferred first; the rest are OpenSSH's defaults, so any sshd finds a common cipher. */
    static final String CIPHERS = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,"
            + "aes128-ctr,aes192-ctr,aes256-ctr";

    private final Session session;
    private final RemoteLocation location;

    private SshConnection(Session session, RemoteLocation location) {
        this.session = session;
        this.location = location;
    }

    public static SshConnection open(RemoteLocation location, SshOptions options) throws StandinException {
        JSch jsch = new JSch();
        CheckingHostKeys hostKeys;
        try {
            if (options.sshConfig().isPresent() && Files.isReadable(options.sshConfig().get())) {
                jsch.setConfigRepository(OpenSSHConfig.parseFile(options.sshConfig().get().toString()));
            }
            if (Files.exists(options.knownHosts())) {
                jsch.setKnownHosts(options.knownHosts().toString());
            }
            hostKeys = new CheckingHostKeys(jsch.getHostKeyRepository());
            jsch.setHostKeyRepository(hostKeys);
            addAgent(jsch);
            if (options.identity().isPresent()) {
                if (!Files.isReadable(options.identity().get())) {
                    throw new StandinException(ExitStatus.USAGE, "identity file " + options.identity().get()
                            + " is not readable");
                }
                jsch.addIdentity(options.identity().get().toString());
            }
        } catch (JSchException | IOException e) {
            throw new StandinException(ExitStatus.USAGE, "ssh setup: " + e.getMessage(), e);
        }
        Session session = null;
        try {
            String user = location.user().isEmpty() ? null : location.user();
            session = location.port() == 0 ? jsch.getSession(user, location.host())
                    : jsch.getSession(user, location.host(), location.port());
            session.setConfig("StrictHostKeyChecking", "yes");
            session.setConfig("cipher.c2s", CIPHERS);
            session.setConfig("cipher.s2c", CIPHERS);
            session.setConfig("PreferredAuthentications", "publickey");
            session.setServerAliveInterval(15_000);
            session.setServerAliveCountMax(4);
            session.setUserInfo(new NoPrompts());
            session.connect(options.connectTimeoutMillis());
        } catch (JSchException e) {
            throw explain(location, session, options.knownHosts(), hostKeys, e);
        }
        return new SshConnection(session, location);
    }

    /** ssh-agent, when SSH_AUTH_SOCK points at one; identities from files are added after it. */
    private static void addAgent(JSch jsch) {
        if (System.getenv("SSH_AUTH_SOCK") == null) {
            return;
        }
        try {
            SSHAgentConnector agent = new SSHAgentConnector();
            if (agent.isAvailable()) {
                jsch.setIdentityRepository(new AgentIdentityRepository(agent));
            }
        } catch (AgentProxyException e) {
            // no usable agent: keys from files only
        }
    }

    /** {@code session}: null when it could not be made; else it knows the port ~/.ssh/config chose. */
    private static StandinException explain(RemoteLocation location, Session session, Path knownHosts,
            CheckingHostKeys keys, JSchException e) {
        String where = location.host() + (location.port() == 0 ? "" : ":" + location.port());
        String host = session == null ? location.host() : session.getHost();
        int port = session == null ? location.port() : session.getPort();
        // A host key or a refused key does not change by retrying: permanent, so the supervisor does
        // not retry in a storm (and no lockout policy on the remote counts our tries).
        if (keys.lastResult == HostKeyRepository.CHANGED) {
            return new StandinException(ExitStatus.DESTINATION, "host key of " + where + " has CHANGED: it offered "
                    + keys.lastOffered + ", which known_hosts does not list for it; refusing to connect (if the host "
                    + "was reinstalled, remove its old key with ssh-keygen -R and check the new fingerprint)", e, true);
        }
        if (keys.lastResult == HostKeyRepository.NOT_INCLUDED) {
            return new StandinException(ExitStatus.DESTINATION, "host " + where + " is not in known_hosts (it offered "
                    + keys.lastOffered + "); refusing to connect: pair with it once (standin pair " + host
                    + (port == 0 || port == 22 ? "" : " -p " + port) + "), or add its key after checking the fingerprint, "
                    + "e.g. ssh-keyscan " + (port == 0 || port == 22 ? "" : "-p " + port + " ") + host + " >> "
                    + knownHosts, e, true);
        }
        String message = dev.standin.agent.sync.Failures.reason(e);
        if (message.contains("Auth fail") || message.contains("Auth cancel")) {
            return new StandinException(ExitStatus.DESTINATION, "ssh " + where + ": no key was accepted for user "
                    + (location.user().isEmpty() ? System.getProperty("user.name") : location.user())
                    + " (tried -i, ssh-agent and ~/.ssh/config identities)", e, true);
        }
        return new StandinException(ExitStatus.DESTINATION, "ssh " + where + ": " + message, e);
    }

    public RemoteLocation location() {
        return location;
    }

    /** Runs {@code command} on the remote host; its stdin/stdout are the returned channel's streams. */
    public Exec exec(String command) throws StandinException {
        try {
            ChannelExec channel = (ChannelExec) session.openChannel("exec");
            channel.setCommand(command);
            ByteArrayOutputStream stderr = new ByteArrayOutputStream();
            channel.setErrStream(new BoundedOutput(stderr, 8192), true);
            InputStream in = channel.getInputStream();
            OutputStream out = channel.getOutputStream();
            channel.connect(30_000);
            return new Exec(channel, in, out, stderr);
        } catch (JSchException | IOException e) {
            throw new StandinException(ExitStatus.DESTINATION, "ssh " + location.host() + ": cannot start '" + command
                    + "': " + dev.standin.agent.sync.Failures.reason(e), e);
        }
    }

    /** A remote command: its streams, what it wrote on stderr, and its exit status once it ended. */
    public static final class Exec implements AutoCloseable {
        private final ChannelExec channel;
        private final InputStream in;
        private final OutputStream out;
        private final ByteArrayOutputStream stderr;

        Exec(ChannelExec channel, InputStream in, OutputStream out, ByteArrayOutputStream stderr) {
            this.channel = channel;
            this.in = in;
            this.out = out;
            this.stderr = stderr;
        }

        public InputStream input() {
            return in;
        }

        public OutputStream output() {
            return out;
        }

        /** The remote's stderr so far, as one line (the last lines when it said a lot). */
        public String stderr() {
            synchronized (stderr) {
                return stderr.toString(StandardCharsets.UTF_8).trim().replace('\n', ' ');
            }
        }

        /** Whether the command is still running and has not closed its output. */
        public boolean isOpen() {
            return channel.isConnected() && !channel.isClosed() && !channel.isEOF();
        }

        /** Waits up to {@code millis} for the command to end; its exit status, or -1. */
        public int awaitExit(long millis) throws InterruptedException {
            long deadline = System.nanoTime() + millis * 1_000_000;
            while (!channel.isClosed() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            return channel.isClosed() ? channel.getExitStatus() : -1;
        }

        @Override
        public void close() {
            channel.disconnect();
        }
    }

    @Override
    public void close() {
        session.disconnect();
    }

    /** Remembers what the host offered and what known_hosts said of it, for the error message. */
    private static final class CheckingHostKeys implements HostKeyRepository {
        private final HostKeyRepository known;
        volatile int lastResult = OK;
        volatile String lastOffered = "";

        CheckingHostKeys(HostKeyRepository known) {
            this.known = known;
        }

        @Override
        public int check(String host, byte[] key) {
            int result = known.check(host, key);
            lastResult = result;
            lastOffered = describe(key);
            return result;
        }

        @Override
        public void add(HostKey hostkey, UserInfo ui) {
            // Never: strict checking means known_hosts is the operator's, not ours.
        }

        @Override
        public void remove(String host, String type) {}

        @Override
        public void remove(String host, String type, byte[] key) {}

        @Override
        public String getKnownHostsRepositoryID() {
            return known.getKnownHostsRepositoryID();
        }

        @Override
        public HostKey[] getHostKey() {
            return known.getHostKey();
        }

        @Override
        public HostKey[] getHostKey(String host, String type) {
            return known.getHostKey(host, type);
        }
    }

    /** "ssh-ed25519 key SHA256:...", the way {@code ssh-keygen -l} prints a fingerprint. */
    static String describe(byte[] keyBlob) {
        String type = "key";
        if (keyBlob.length >= 4) {
            int n = ByteBuffer.wrap(keyBlob, 0, 4).getInt();
            if (n > 0 && n < 64 && 4 + n <= keyBlob.length) {
                type = new String(keyBlob, 4, n, StandardCharsets.US_ASCII);
            }
        }
        try {
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(keyBlob);
            return type + " key SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(sha);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Never asks: no passwords or passphrases at 3 a.m. from a scheduler. */
    private static final class NoPrompts implements UserInfo {
        @Override
        public String getPassphrase() {
            return null;
        }

        @Override
        public String getPassword() {
            return null;
        }

        @Override
        public boolean promptPassword(String message) {
            return false;
        }

        @Override
        public boolean promptPassphrase(String message) {
            return false;
        }

        @Override
        public boolean promptYesNo(String message) {
            return false;
        }

        @Override
        public void showMessage(String message) {}
    }

    /** Keeps the first {@code limit} bytes of the remote's stderr: enough for its error line. */
    private static final class BoundedOutput extends OutputStream {
        private final ByteArrayOutputStream target;
        private final int limit;

        BoundedOutput(ByteArrayOutputStream target, int limit) {
            this.target = target;
            this.limit = limit;
        }

        @Override
        public void write(int b) {
            synchronized (target) {
                if (target.size() < limit) {
                    target.write(b);
                }
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            synchronized (target) {
                target.write(b, off, Math.max(0, Math.min(len, limit - target.size())));
            }
        }
    }
}
