package dev.standin.agent.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.standin.agent.transport.ServeRequest;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether a forwarded command's paths name the same files for the agent as for the command.
 *
 * <p>The packaged unit hardens the agent with PrivateTmp, ProtectHome and ProtectSystem, which
 * give it a mount namespace of its own: its /tmp is not the caller's, and /home or /etc are
 * read-only to it. A {@code sync /tmp/a /tmp/b} run there would write into the agent's private
 * /tmp, and the caller would never see the replica. So where the namespaces differ the agent
 * declines (the command then runs in its own JVM), except for {@code serve --root DIR} when DIR
 * (and its state dir) is the very same directory in both views and writable to the agent:
 * a replica host's receivers stay resident, and nothing outside that root is touched by serve.
 */
final class FilesystemView {

    private static final Path PROC = Path.of("/proc");

    private FilesystemView() {}

    /** This process's mount namespace, e.g. {@code mnt:[4026531841]}; empty when /proc does not say. */
    static String ofThisProcess() {
        return namespaceOf(PROC.resolve("self"));
    }

    static String namespaceOf(Path process) {
        try {
            return Files.readSymbolicLink(process.resolve("ns/mnt")).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "";
        }
    }

    /** Why the agent, in namespace {@code agentNamespace}, should not run {@code request}; empty if it may. */
    static Optional<String> refusal(RunRequest request, String agentNamespace) {
        if (!agentNamespace.isEmpty() && agentNamespace.equals(request.mountNamespace())) {
            return Optional.empty();
        }
        String why = "the agent sees another filesystem than the command (its service's PrivateTmp, ProtectHome "
                + "or ProtectSystem), so the command's paths could name other files";
        if (!request.args().isEmpty() && request.args().get(0).equals("serve") && request.pid() > 0) {
            return serveRefusal(request).map(reason -> why + ": " + reason);
        }
        return Optional.of(why);
    }

    /** A serve's root and state dir are the same directories for both, and writable to the agent. */
    private static Optional<String> serveRefusal(RunRequest request) {
        Path client = PROC.resolve(Long.toString(request.pid()));
        // The pid is the client's only if that process is in the namespace the client named.
        if (request.mountNamespace().isEmpty() || !request.mountNamespace().equals(namespaceOf(client))) {
            return Optional.of("process " + request.pid() + " is not in the namespace the command named");
        }
        Optional<String> root = ServeRequest.option(request.args(), "--root");
        if (root.isEmpty()) {
            return Optional.of("serve names no --root");
        }
        for (String dir : List.of(root.get(), ServeRequest.option(request.args(), "--state-dir").orElse("/var/lib/standin"))) {
            Path own = request.workingDirectory().resolve(dir).normalize();
            Path theirs = client.resolve("root").resolve(Path.of("/").relativize(own));
            if (!Files.exists(theirs)) {
                continue; // serve itself refuses a root that is not there; an absent state dir is made
            }
            try {
                Object ownKey = Files.readAttributes(own, BasicFileAttributes.class).fileKey();
                Object theirKey = Files.readAttributes(theirs, BasicFileAttributes.class).fileKey();
                if (ownKey == null || !Objects.equals(ownKey, theirKey)) {
                    return Optional.of(own + " is another directory for the agent");
                }
                // access(2), not the FileStore: the JDK finds a bind mount's store by device and
                // reports the writable file system under it.
                if (!Files.isWritable(own)) {
                    return Optional.of(own + " is read-only for the agent");
                }
            } catch (IOException e) {
                return Optional.of(own + " cannot be compared: " + e.getMessage());
            }
        }
        return Optional.empty();
    }
}
