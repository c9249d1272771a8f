package dev.standin.agent.daemon;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** Where the agent listens and commands look for it. */
public final class AgentSocket {

    /** Names the socket; empty or {@code none} turns the agent off for a command. */
    public static final String VARIABLE = "STANDIN_AGENT_SOCKET";

    private AgentSocket() {}

    /**
     * {@code $STANDIN_AGENT_SOCKET}; else {@code /run/standin/agent.sock} for root (the systemd
     * unit's runtime directory) and {@code $XDG_RUNTIME_DIR/standin/agent.sock} for other users;
     * empty when none applies.
     */
    public static Optional<Path> path(Map<String, String> environment, String user) {
        String named = environment.get(VARIABLE);
        if (named != null) {
            return named.isEmpty() || named.equals("none") ? Optional.empty() : Optional.of(Path.of(named));
        }
        if (user.equals("root")) {
            return Optional.of(Path.of("/run/standin/agent.sock"));
        }
        String runtime = environment.get("XDG_RUNTIME_DIR");
        return runtime == null || runtime.isEmpty() ? Optional.empty()
                : Optional.of(Path.of(runtime, "standin", "agent.sock"));
    }
}
