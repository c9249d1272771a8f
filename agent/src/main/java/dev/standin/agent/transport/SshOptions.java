package dev.standin.agent.transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How to reach the replica's host. Secrets are never stored here: keys come from files the user
 * names ({@code -i}), ~/.ssh/config's IdentityFile, or ssh-agent.
 *
 * @param identity an explicit private key, tried first
 * @param knownHosts the known_hosts file host keys are checked against (strictly)
 * @param sshConfig an OpenSSH client config to read Host entries from, or empty for none
 * @param remoteStandin the command that starts standin on the remote host
 * @param connectTimeoutMillis how long to wait for the TCP connection and key exchange
 * @param bytesPerSecond the most a cycle sends per second (--bwlimit), 0 for no limit
 * @param ioTimeout how long a cycle may go without data in either direction, its own reading of
 *     the source, or the receiver's keep-alives before it is abandoned as hung (--timeout, rsync's
 *     name); zero for never
 */
public record SshOptions(Optional<Path> identity, Path knownHosts, Optional<Path> sshConfig, String remoteStandin,
        int connectTimeoutMillis, long bytesPerSecond, Duration ioTimeout) {

    /** Long enough for a receiver's commit of a large delta on slow disks, short enough to notice a hang within the hour. */
    public static final Duration DEFAULT_IO_TIMEOUT = Duration.ofMinutes(10);

    /** The receiver sends keep-alives every second while it works; a shorter timeout would be noise. */
    public static final Duration MIN_IO_TIMEOUT = Duration.ofSeconds(5);

    public SshOptions {
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(knownHosts, "knownHosts");
        Objects.requireNonNull(sshConfig, "sshConfig");
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("bandwidth limit " + bytesPerSecond + " is negative");
        }
        checkTimeout(Objects.requireNonNull(ioTimeout, "ioTimeout"), ioTimeout.toSeconds() + " s");
        if (remoteStandin.isBlank()) {
            throw new IllegalArgumentException("remote standin command is empty");
        }
    }

    /** {@code timeout} (written {@code asWritten}) if it is 0 or at least {@link #MIN_IO_TIMEOUT}; else the reason in words. */
    public static Duration checkTimeout(Duration timeout, String asWritten) {
        if (!timeout.isZero() && timeout.compareTo(MIN_IO_TIMEOUT) < 0) {
            throw new IllegalArgumentException("a timeout of " + asWritten + " is under the "
                    + MIN_IO_TIMEOUT.toSeconds() + " s that the receiver's keep-alives need; write 0 for none");
        }
        return timeout;
    }

    /** The user's own: ~/.ssh/known_hosts and ~/.ssh/config, {@code standin} on the remote PATH. */
    public static SshOptions defaults() {
        Path ssh = Path.of(System.getProperty("user.home"), ".ssh");
        return new SshOptions(Optional.empty(), ssh.resolve("known_hosts"), Optional.of(ssh.resolve("config")),
                "standin", 20_000, 0, DEFAULT_IO_TIMEOUT);
    }

    /** The same, with each of {@code parts} parallel cycles getting an equal share of the bandwidth limit. */
    public SshOptions sharedBy(int parts) {
        return new SshOptions(identity, knownHosts, sshConfig, remoteStandin, connectTimeoutMillis,
                bytesPerSecond == 0 ? 0 : Math.max(1, bytesPerSecond / parts), ioTimeout);
    }
}
