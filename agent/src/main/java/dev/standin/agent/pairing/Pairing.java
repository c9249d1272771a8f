package dev.standin.agent.pairing;

import dev.standin.agent.transport.Message;
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.agent.transport.SshDestination;
import dev.standin.agent.transport.SshOptions;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.RemoteShell;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * {@code standin pair}: this host's key, the replica host's pinned key, the restricted key on the
 * replica host, and the proof (package-info). Each step is checked before the next, each leaves
 * what is already right as it is, so a second run changes nothing and says so.
 */
public final class Pairing {

    /** Host key types, most preferred first: the one pinned when a person confirms. */
    private static final List<String> PREFERENCE = List.of("ssh-ed25519", "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa");

    /**
     * What to pair with.
     *
     * @param login the administrator's login on the replica host (empty: ssh's default)
     * @param host the replica host
     * @param port its SSH port, 0 for ssh's default
     * @param root the directory on the replica host that the key may write replicas under
     * @param runAs a dedicated account on the replica host to install the key for (created if
     *     missing); empty: the login's own
     * @param sshDirectory where this host keeps standin's key and known_hosts
     * @param acceptFingerprint the host key fingerprint a script vouches for
     * @param adminSsh the administrator's ssh command, used once to install the key
     * @param remoteStandin the forced command's standin on the replica host
     * @param authorizedKeys an authorized_keys file on the replica host other than ~/.ssh's
     */
    public record Request(String login, String host, int port, String root, Optional<String> runAs,
            Path sshDirectory, Optional<String> acceptFingerprint, List<String> adminSsh, String remoteStandin,
            Optional<String> authorizedKeys) {

        public Request {
            if (!root.startsWith("/")) {
                throw new IllegalArgumentException("--root " + root + " is not an absolute path on " + host);
            }
            if (root.length() > 1 && root.endsWith("/")) {
                root = root.substring(0, root.length() - 1);
            }
            acceptFingerprint.ifPresent(f -> {
                if (!f.startsWith("SHA256:")) {
                    throw new IllegalArgumentException("--accept-fingerprint " + f
                            + " is not an OpenSSH fingerprint (SHA256:..., as ssh-keygen -lf prints it)");
                }
            });
            adminSsh = List.copyOf(adminSsh);
        }

        Path key() {
            return sshDirectory.resolve("id_ed25519");
        }

        Path knownHosts() {
            return sshDirectory.resolve("known_hosts");
        }

        /** How known_hosts names the host: {@code host}, or {@code [host]:port} off port 22. */
        String knownHostsName() {
            return port == 0 || port == 22 ? host : "[" + host + "]:" + port;
        }

        /** The account standin's cycles log in as. */
        String standinLogin() {
            return runAs.orElse(login);
        }
    }

    /** Asks a person; empty when there is nobody to ask (no terminal). */
    public interface Confirmation {
        Optional<Boolean> confirm(String question);
    }

    private final CommandRunner commands = new CommandRunner();
    private final PrintWriter out;

    public Pairing(PrintWriter out) {
        this.out = out;
    }

    /** Pairs, saying one line per step; the target line for standin.yaml last. */
    public void pair(Request request, Confirmation person) throws StandinException {
        String publicKey = ensureKey(request);
        HostKey pinned = pinHostKey(request, person);
        installRestrictedKey(request, publicKey);
        Message.Hello receiver = prove(request);
        say("proved: " + request.host() + " runs " + receiver.software() + " (protocol " + receiver.minVersion() + ".."
                + receiver.maxVersion() + ") for this key, host key " + pinned.fingerprint());
        String login = request.standinLogin().isEmpty() ? "" : request.standinLogin() + "@";
        String dest = request.port() == 0 || request.port() == 22
                ? login + request.host() + ":" + request.root() + "/VM/"
                : "ssh://" + login + request.host() + ":" + request.port() + request.root() + "/VM/";
        say("paired. In /etc/standin/standin.yaml, a target on " + request.host() + " reads:  dest: " + dest);
    }

    /** standin's own ed25519 key, made with ssh-keygen when absent; its public line. */
    private String ensureKey(Request request) throws StandinException {
        Path key = request.key();
        Path publicKey = Path.of(key + ".pub");
        try {
            if (Files.exists(key)) {
                if (!Files.exists(publicKey)) {
                    throw new StandinException(ExitStatus.USAGE, key + " has no " + publicKey.getFileName()
                            + " beside it; restore it (ssh-keygen -y -f " + key + ") or move the key away");
                }
                say("key " + key + ": kept");
            } else {
                Files.createDirectories(request.sshDirectory(), PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
                String comment = "standin@" + localHostName();
                run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key.toString()),
                        Duration.ofSeconds(30), "make standin's key");
                say("key " + key + ": made (ed25519, " + comment + ")");
            }
            return Files.readString(publicKey, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new StandinException(ExitStatus.USAGE, "standin's key " + key + ": " + e.getMessage(), e);
        }
    }

    /** The replica host's key in standin's known_hosts, confirmed by a person or the fingerprint given. */
    private HostKey pinHostKey(Request request, Confirmation person) throws StandinException {
        List<HostKey> offered = scan(request);
        List<HostKey> pinned = pinnedKeys(request);
        if (!pinned.isEmpty()) {
            Optional<HostKey> same = offered.stream().filter(pinned::contains).findFirst();
            if (same.isEmpty()) {
                throw new StandinException(ExitStatus.DESTINATION, "the host key of " + request.host() + " changed: "
                        + request.knownHosts() + " pins " + fingerprints(pinned) + ", it now offers " + fingerprints(offered)
                        + "; if " + request.host() + " was reinstalled, check its new key there, delete its line from "
                        + request.knownHosts() + " and pair again");
            }
            checkVouched(request, same.get(), offered);
            say("host key of " + request.knownHostsName() + ": already pinned (" + same.get() + ")");
            return same.get();
        }
        HostKey chosen;
        if (request.acceptFingerprint().isPresent()) {
            chosen = offered.stream().filter(k -> k.fingerprint().equals(request.acceptFingerprint().get())).findFirst()
                    .orElseThrow(() -> new StandinException(ExitStatus.DESTINATION, request.host() + " offers "
                            + fingerprints(offered) + ", none of them " + request.acceptFingerprint().get()
                            + "; not pinned (a wrong fingerprint, or another host answering)"));
        } else {
            chosen = offered.stream().min(Comparator.comparingInt(Pairing::preference)).orElseThrow();
            String check = "check it on " + request.host() + " with: ssh-keygen -lf /etc/ssh/ssh_host_"
                    + shortType(chosen) + "_key.pub";
            Optional<Boolean> answer = person.confirm(request.host() + " offers host key " + chosen + "; " + check
                    + ". Pin it for standin? [yes/no] ");
            if (answer.isEmpty()) {
                throw new StandinException(ExitStatus.USAGE, request.host() + " offers host key " + chosen
                        + "; standin pins a host key only when a person confirms it: " + check + ", then run again with "
                        + "--accept-fingerprint " + chosen.fingerprint());
            }
            if (!answer.get()) {
                throw new StandinException(ExitStatus.USAGE, "host key of " + request.host() + " not confirmed; nothing "
                        + "pinned, nothing installed");
            }
        }
        String line = request.knownHostsName() + " " + chosen.type() + " " + chosen.blob() + "\n";
        try {
            Files.createDirectories(request.sshDirectory());
            if (Files.exists(request.knownHosts()) && Files.size(request.knownHosts()) > 0 && !Files.readString(request.knownHosts()).endsWith("\n")) {
                line = "\n" + line; // a file edited by hand may end without one
            }
            Files.writeString(request.knownHosts(), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.USAGE, "cannot write " + request.knownHosts() + ": " + e.getMessage(), e);
        }
        say("host key of " + request.knownHostsName() + ": pinned in " + request.knownHosts() + " (" + chosen + ")");
        return chosen;
    }

    private static void checkVouched(Request request, HostKey key, List<HostKey> offered) throws StandinException {
        if (request.acceptFingerprint().isPresent() && !key.fingerprint().equals(request.acceptFingerprint().get())) {
            throw new StandinException(ExitStatus.DESTINATION, request.host() + " offers " + fingerprints(offered)
                    + " and standin pins " + key.fingerprint() + ", not " + request.acceptFingerprint().get());
        }
    }

    private List<HostKey> scan(Request request) throws StandinException {
        List<String> command = new ArrayList<>(List.of("ssh-keyscan", "-T", "10"));
        if (request.port() != 0) {
            command.addAll(List.of("-p", Integer.toString(request.port())));
        }
        command.addAll(List.of("-t", "ed25519,ecdsa,rsa", request.host()));
        CommandRunner.Result result = run(command, Duration.ofSeconds(30), "ask " + request.host() + " for its host key");
        List<HostKey> keys = result.stdout().lines().map(HostKey::parseLine).flatMap(Optional::stream)
                .map(HostKey.Entry::key).toList();
        if (keys.isEmpty()) {
            throw new StandinException(ExitStatus.DESTINATION, request.host() + (request.port() == 0 ? "" : ":"
                    + request.port()) + " offered no host key to ssh-keyscan" + (result.stderr().isBlank() ? ""
                    : ": " + result.stderr().strip()) + " (is sshd running there, and the name right?)");
        }
        return keys;
    }

    private static List<HostKey> pinnedKeys(Request request) throws StandinException {
        if (!Files.exists(request.knownHosts())) {
            return List.of();
        }
        try {
            return Files.readAllLines(request.knownHosts(), StandardCharsets.UTF_8).stream().map(HostKey::parseLine)
                    .flatMap(Optional::stream).filter(e -> e.names(request.knownHostsName()))
                    .map(HostKey.Entry::key).toList();
        } catch (IOException e) {
            throw new StandinException(ExitStatus.USAGE, "cannot read " + request.knownHosts() + ": " + e.getMessage(), e);
        }
    }

    /** The authorized_keys line on the replica host, through the administrator's ssh. */
    private void installRestrictedKey(Request request, String publicKey) throws StandinException {
        String forced = request.remoteStandin() + " serve --root " + RemoteShell.quote(List.of(request.root()));
        String line = "command=\"" + forced.replace("\\", "\\\\").replace("\"", "\\\"") + "\",restrict " + publicKey;
        String blob = publicKey.split("\\s+")[1];
        List<String> command = new ArrayList<>(request.adminSsh());
        if (request.port() != 0) {
            command.addAll(List.of("-p", Integer.toString(request.port())));
        }
        command.add(request.login().isEmpty() ? request.host() : request.login() + "@" + request.host());
        command.add(RemoteShell.quote(List.of("sh", "-c", installScript(), "standin-pair", request.root(), line,
                request.runAs().orElse(""), blob, request.authorizedKeys().orElse(""))));
        CommandRunner.Result result = run(command, Duration.ofMinutes(5),
                "install standin's key on " + request.host() + " with your ssh access");
        List<String> said = result.stdout().lines().toList();
        String verdict = said.isEmpty() ? "" : said.get(said.size() - 1);
        String account = request.runAs().map(u -> "account " + u).orElse(request.login().isEmpty() ? "your account"
                : "account " + request.login());
        switch (verdict) {
            case "installed" -> say("key installed on " + request.host() + " for " + account + ", restricted to '"
                    + forced + "'");
            case "unchanged" -> say("key on " + request.host() + " for " + account + ": already installed, restricted "
                    + "to '" + forced + "'");
            default -> throw new StandinException(ExitStatus.DESTINATION, "installing the key on " + request.host()
                    + " said '" + String.join(" ", said) + "', not 'installed'");
        }
    }

    private Message.Hello prove(Request request) throws StandinException {
        RemoteLocation location = new RemoteLocation(request.standinLogin(), request.host(), request.port(),
                request.root().equals("/") ? "/" : request.root() + "/");
        SshOptions ssh = new SshOptions(Optional.of(request.key()), request.knownHosts(), Optional.empty(),
                request.remoteStandin(), 20_000, 0, SshOptions.DEFAULT_IO_TIMEOUT);
        return SshDestination.greet(location, ssh);
    }

    private CommandRunner.Result run(List<String> command, Duration timeout, String purpose) throws StandinException {
        CommandRunner.Result result;
        try {
            result = commands.run(command, timeout);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.USAGE, "cannot " + purpose + ": " + command.get(0) + ": "
                    + e.getMessage() + " (install openssh-client)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StandinException(ExitStatus.INTERRUPTED, "interrupted", e);
        }
        if (!result.ok()) {
            throw new StandinException(ExitStatus.DESTINATION, "cannot " + purpose + ": " + result.describe());
        }
        return result;
    }

    private static String installScript() {
        try (InputStream in = Pairing.class.getResourceAsStream("install-key.sh")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("install-key.sh is missing from the jar", e);
        }
    }

    private static int preference(HostKey key) {
        int i = PREFERENCE.indexOf(key.type());
        return i < 0 ? PREFERENCE.size() : i;
    }

    /** The file name part of the host key's type: ed25519, ecdsa, rsa. */
    private static String shortType(HostKey key) {
        return key.type().startsWith("ecdsa") ? "ecdsa" : key.type().contains("rsa") ? "rsa"
                : key.type().replace("ssh-", "");
    }

    private static String fingerprints(List<HostKey> keys) {
        return String.join(", ", keys.stream().map(HostKey::toString).toList());
    }

    private static String localHostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    private void say(String line) {
        out.println("standin: " + line);
        out.flush();
    }
}
