package dev.standin.agent.transport;

import java.nio.file.Path;
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
 */
public record SshOptions(Optional<Path> identity, Path knownHosts, Optional<Path> sshConfig, String remoteStandin,
        int connectTimeoutMillis, long bytesPerSecond) {

    public SshOptions {
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(knownHosts, "knownHosts");
        Objects.requireNonNull(sshConfig, "sshConfig");
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("bandwidth limit " + bytesPerSecond + " is negative");
        }
        if (remoteStandin.isBlank()) {
            throw new IllegalArgumentException("remote standin command is empty");
        }
    }

    /** The user's own: ~/.ssh/known_hosts and ~/.ssh/config, {@code standin} on the remote PATH. */
    public static SshOptions defaults() {
        Path ssh = Path.of(System.getProperty("user.home"), ".ssh");
        return new SshOptions(Optional.empty(), ssh.resolve("known_hosts"), Optional.of(ssh.resolve("config")),
                "standin", 20_000, 0);
    }

    /** The same, with each of {@code parts} parallel cycles getting an equal share of the bandwidth limit. */
    public SshOptions sharedBy(int parts) {
        return new SshOptions(identity, knownHosts, sshConfig, remoteStandin, connectTimeoutMillis,
                bytesPerSecond == 0 ? 0 : Math.max(1, bytesPerSecond / parts));
    }
}
