package dev.standin.agent.cli;

import dev.standin.agent.daemon.Invocation;
import dev.standin.agent.transport.SshOptions;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** The options of commands that reach a replica on another host over SSH. */
final class SshMixin {

    @Option(names = {"-i", "--identity"}, paramLabel = "FILE",
            description = "Private key for SSH (also tried: ssh-agent, IdentityFile from ~/.ssh/config).")
    private Path identity;

    @Option(names = "--known-hosts", paramLabel = "FILE",
            description = "known_hosts file the host key is checked against (default: ~/.ssh/known_hosts). "
                    + "Unknown or changed host keys are refused.")
    private Path knownHosts;

    @Option(names = "--ssh-config", paramLabel = "FILE",
            description = "OpenSSH client config for Host entries (default: ~/.ssh/config; 'none' for none).")
    private String sshConfig;

    @Option(names = "--remote-standin", paramLabel = "COMMAND", defaultValue = "standin",
            description = "How to start standin on the remote host, like rsync's --rsync-path (default: ${DEFAULT-VALUE}).")
    private String remoteStandin;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10m", converter = TimeoutConverter.class,
            description = "Abandon a cycle when nothing has moved for this long: no data either way, no reading of the "
                    + "source, no keep-alive from a receiver at work (a hung receiver or a dead disk); seconds as "
                    + "rsync's --timeout, or 90s, 10m; 0 for never (default: ${DEFAULT-VALUE}).")
    private java.time.Duration timeout;

    SshOptions options(long bytesPerSecond, Invocation invocation) {
        SshOptions defaults = SshOptions.defaults();
        Optional<Path> config = sshConfig == null ? defaults.sshConfig()
                : sshConfig.equals("none") ? Optional.empty() : Optional.of(invocation.resolve(sshConfig));
        return new SshOptions(Optional.ofNullable(identity), knownHosts != null ? knownHosts : defaults.knownHosts(),
                config, remoteStandin, defaults.connectTimeoutMillis(), bytesPerSecond, timeout);
    }
}
