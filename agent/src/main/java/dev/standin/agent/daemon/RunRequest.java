package dev.standin.agent.daemon;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a command asks the agent to run (the payload of a RUN frame, docs/agent.md): the command
 * line, and what the command would otherwise have taken from its own process.
 *
 * @param build the client's {@link dev.standin.agent.Version#build()}; the agent runs only its own build's commands
 * @param workingDirectory the client's, for relative paths
 * @param terminal whether the client's stderr is a terminal
 * @param stdin whether the client forwards its stdin ({@code serve} reads the protocol from it)
 * @param pid the client's process id, whose stdin and stdout pipes the agent may open itself; 0: none
 * @param mountNamespace the client's mount namespace ({@code /proc/self/ns/mnt}, e.g. {@code mnt:[4026531841]};
 *     empty when unknown): whether its paths name the same files for the agent ({@link FilesystemView})
 * @param environment the variables listed in {@link #FORWARDED} that the client has
 * @param args the command line after {@code standin}
 */
record RunRequest(String build, Path workingDirectory, boolean terminal, boolean stdin, long pid,
        String mountNamespace, Map<String, String> environment, List<String> args) {

    /**
     * Variables a command run by the agent reads or must agree with the agent on: HOME (where
     * ~/.ssh is), SSH_AUTH_SOCK (the ssh-agent to use), SSH_ORIGINAL_COMMAND (a forced command's
     * request), SSH_CLIENT (the peer serve names in its record of a refusal).
     */
    static final List<String> FORWARDED = List.of("HOME", "SSH_AUTH_SOCK", "SSH_ORIGINAL_COMMAND", "SSH_CLIENT");

    RunRequest {
        if (!workingDirectory.isAbsolute()) {
            throw new IllegalArgumentException("working directory " + workingDirectory + " is not absolute");
        }
        java.util.Objects.requireNonNull(mountNamespace, "mountNamespace");
        environment = Map.copyOf(environment);
        args = List.copyOf(args);
    }

    static Map<String, String> forwardedFrom(Map<String, String> environment) {
        Map<String, String> forwarded = new LinkedHashMap<>();
        for (String name : FORWARDED) {
            if (environment.containsKey(name)) {
                forwarded.put(name, environment.get(name));
            }
        }
        return forwarded;
    }

    byte[] encode() {
        List<String> strings = new ArrayList<>(List.of(build, workingDirectory.toString(), terminal ? "1" : "0",
                stdin ? "1" : "0", Long.toString(pid), mountNamespace, Integer.toString(environment.size())));
        environment.forEach((name, value) -> {
            strings.add(name);
            strings.add(value);
        });
        strings.addAll(args);
        return AgentWire.encodeStrings(strings);
    }

    static RunRequest decode(byte[] payload) throws AgentWire.AgentWireException {
        List<String> s = AgentWire.decodeStrings(payload);
        try {
            long pid = Long.parseLong(s.get(4));
            if (pid < 0) {
                throw new AgentWire.AgentWireException("run request names pid " + pid);
            }
            int variables = Integer.parseInt(s.get(6));
            if (variables < 0 || 7 + 2 * variables > s.size()) {
                throw new AgentWire.AgentWireException("run request claims " + variables + " variables");
            }
            Map<String, String> environment = new LinkedHashMap<>();
            for (int i = 0; i < variables; i++) {
                String name = s.get(7 + 2 * i);
                if (!FORWARDED.contains(name)) {
                    throw new AgentWire.AgentWireException("run request carries variable " + name);
                }
                environment.put(name, s.get(8 + 2 * i));
            }
            return new RunRequest(s.get(0), Path.of(s.get(1)), flag(s.get(2)), flag(s.get(3)), pid, s.get(5),
                    environment, s.subList(7 + 2 * variables, s.size()));
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new AgentWire.AgentWireException("malformed run request: " + e.getMessage());
        }
    }

    private static boolean flag(String text) throws AgentWire.AgentWireException {
        return switch (text) {
            case "1" -> true;
            case "0" -> false;
            default -> throw new AgentWire.AgentWireException("flag '" + text + "' is neither 0 nor 1");
        };
    }
}
