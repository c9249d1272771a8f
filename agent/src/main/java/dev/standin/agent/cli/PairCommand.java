package dev.standin.agent.cli;

import dev.standin.agent.pairing.Pairing;
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.failure.StandinException;
import java.io.Console;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin pair [user@]HOST}: the replica host reachable for this host's cycles (pairing package). */
@Command(name = "pair", mixinStandardHelpOptions = true,
        description = {"Makes a replica host ready for this host's cycles, once, with your own SSH access to it: "
                + "makes standin's ed25519 key (if none), shows the host's key fingerprint and pins it in standin's "
                + "own known_hosts after you confirm it, installs the key on the host restricted to "
                + "'standin serve --root DIR', creates DIR, and proves the channel with a protocol handshake. "
                + "Running it again changes nothing."})
final class PairCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Parameters(index = "0", paramLabel = "[user@]HOST",
            description = "The replica host as you reach it with ssh, or ssh://[user@]HOST[:PORT].")
    private String target;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/srv/replicas",
            description = "The directory on HOST the key may write replicas under (default: ${DEFAULT-VALUE}).")
    private String root;

    @Option(names = "--as", paramLabel = "USER",
            description = "Install the key for this account on HOST (created if missing, owns DIR) instead of your login.")
    private String runAs;

    @Option(names = "--accept-fingerprint", paramLabel = "SHA256:...",
            description = "The host key fingerprint you checked on HOST (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); "
                    + "for scripts, in place of the question.")
    private String acceptFingerprint;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "HOST's SSH port (default: ssh's).")
    private int port;

    @Option(names = "--ssh-dir", paramLabel = "DIR", defaultValue = "/etc/standin/ssh",
            description = "Where standin keeps its key (id_ed25519) and pinned host keys (known_hosts); "
                    + "standin.yaml's identity and known-hosts name them (default: ${DEFAULT-VALUE}).")
    private Path sshDirectory;

    @Option(names = {"-e", "--ssh-command"}, paramLabel = "COMMAND", defaultValue = "ssh",
            description = "Your ssh command, used once to install the key, as rsync's -e (default: ${DEFAULT-VALUE}).")
    private String adminSsh;

    @Option(names = "--remote-standin", paramLabel = "COMMAND", defaultValue = "standin",
            description = "standin on HOST, for the restricted key's command (default: ${DEFAULT-VALUE}).")
    private String remoteStandin;

    @Option(names = "--authorized-keys", paramLabel = "FILE",
            description = "The authorized_keys file on HOST, where its sshd's AuthorizedKeysFile is not ~/.ssh's.")
    private String authorizedKeys;

    @Override
    public Integer call() throws StandinException {
        RemoteLocation host = RemoteLocation.parse(target.startsWith("ssh://") ? target + "/" : target + ":/")
                .orElseThrow(() -> new IllegalArgumentException(target + " is not [user@]HOST"));
        int chosenPort = port != 0 ? port : host.port();
        Pairing.Request request = new Pairing.Request(host.user(), host.host(), chosenPort, root,
                Optional.ofNullable(runAs), sshDirectory, Optional.ofNullable(acceptFingerprint),
                List.of(adminSsh.trim().split("\\s+")), remoteStandin, Optional.ofNullable(authorizedKeys));
        new Pairing(main.invocation().out()).pair(request, PairCommand::ask);
        return 0;
    }

    /** yes or no at the terminal; empty without one (a script must pass --accept-fingerprint). */
    private static Optional<Boolean> ask(String question) {
        Console console = System.console();
        if (console == null) {
            return Optional.empty();
        }
        String answer = console.readLine("%s", question);
        return Optional.of(answer != null && answer.strip().equalsIgnoreCase("yes"));
    }
}
