package dev.standin.agent.transport;

import java.io.IOException;
import java.util.List;

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
        int serve = words.indexOf("serve");
        if (serve < 0) {
            throw new ProtocolException("this key may only run 'standin serve'; it asked for: " + originalCommand);
        }
        for (int i = serve + 1; i < words.size(); i++) {
            String w = words.get(i);
            if (w.equals("--root") && i + 1 < words.size()) {
                return configured.narrowedTo(words.get(i + 1));
            }
            if (w.startsWith("--root=")) {
                return configured.narrowedTo(w.substring("--root=".length()));
            }
        }
        return configured;
    }
}
