package dev.standin.agent.transport;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/** What the sender asked {@code standin serve} for, when sshd ran a forced command instead. */
public final class ServeRequest {

    private ServeRequest() {}

    /**
     * The root to serve: {@code configured} itself, or, under a forced command
     * ({@code originalCommand} is sshd's SSH_ORIGINAL_COMMAND), the {@code --root} the sender's
     * own command named, narrowed to stay inside {@code configured}.
     */
    public static ReplicaRoot effectiveRoot(ReplicaRoot configured, String originalCommand) throws IOException {
        if (originalCommand == null || originalCommand.isBlank()) {
            return configured;
        }
        List<String> words;
        try {
            words = Shell.split(originalCommand);
        } catch (IllegalArgumentException e) {
            throw new ProtocolException("cannot parse the requested command: " + e.getMessage());
        }
        if (!words.contains("serve")) {
            throw new ProtocolException("this key may only run 'standin serve'; it asked for: " + originalCommand);
        }
        Optional<String> root = option(words, "--root");
        return root.isPresent() ? configured.narrowedTo(root.get()) : configured;
    }

    /** The value of serve's option {@code --name VALUE} or {@code --name=VALUE} in a command's words; the first one. */
    public static Optional<String> option(List<String> words, String name) {
        for (int i = words.indexOf("serve") + 1; i > 0 && i < words.size(); i++) {
            String w = words.get(i);
            if (w.equals(name) && i + 1 < words.size()) {
                return Optional.of(words.get(i + 1));
            }
            if (w.startsWith(name + "=")) {
                return Optional.of(w.substring(name.length() + 1));
            }
        }
        return Optional.empty();
    }
}
