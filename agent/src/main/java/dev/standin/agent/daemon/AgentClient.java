package dev.standin.agent.daemon;

import dev.standin.agent.Version;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import jdk.net.ExtendedSocketOptions;

/**
 * The command's side: hands {@code standin sync} and {@code standin serve} to a resident agent of
 * the same user and build, relays its output, and returns its exit status. When there is no such
 * agent, or it declines, the command runs in its own process as if the agent did not exist. Loads
 * nothing but this package: it runs before everything else in a fresh JVM.
 */
public final class AgentClient {

    /** The supervisor's commands: only an agent can run them, so its refusal is always said. */
    static final Set<String> AGENT_ONLY_COMMANDS = Set.of("status", "run", "pause", "resume", "reload", "history");

    /**
     * The commands worth a warm JVM (the replication cycle, at both ends) and the supervisor's,
     * which only the agent that runs it can answer.
     */
    static final Set<String> FORWARDED_COMMANDS = Stream.concat(Stream.of("sync", "serve"),
            AGENT_ONLY_COMMANDS.stream()).collect(Collectors.toUnmodifiableSet());

    /** How long an agent may take to accept or decline a command (it answers in milliseconds). */
    static final long ANSWER_TIMEOUT_MILLIS = 10_000;

    private AgentClient() {}

    /**
     * Runs {@code args} through the agent. Empty: not run (no agent, another user's or build's
     * agent, or a command it does not take); the caller runs it itself.
     */
    public static OptionalInt runThroughAgent(String[] args, Map<String, String> environment) {
        if (args.length == 0 || !FORWARDED_COMMANDS.contains(args[0])) {
            return OptionalInt.empty();
        }
        String user = System.getProperty("user.name");
        Optional<Path> socket = AgentSocket.path(environment, user);
        if (socket.isEmpty() || !Files.exists(socket.get())) {
            return OptionalInt.empty();
        }
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            return OptionalInt.empty();
        }
        try {
            channel.connect(UnixDomainSocketAddress.of(socket.get()));
            // Only an agent of this user may see this user's command: a socket is just a file name.
            if (!channel.getOption(ExtendedSocketOptions.SO_PEERCRED).user().getName().equals(user)) {
                channel.close();
                return OptionalInt.empty();
            }
        } catch (IOException | UnsupportedOperationException e) {
            close(channel);
            return OptionalInt.empty();
        }
        InputStream fromAgent = AgentWire.input(channel);
        OutputStream toAgent = AgentWire.output(channel);
        boolean serve = args[0].equals("serve");
        RunRequest request = new RunRequest(Version.build(), Path.of("").toAbsolutePath(), System.console() != null,
                serve, serve ? ProcessHandle.current().pid() : 0, FilesystemView.ofThisProcess(),
                RunRequest.forwardedFrom(environment), List.of(args));
        AgentWire.Frame answer;
        Thread watchdog = hangUpUnanswered(channel, socket.get());
        try {
            AgentWire.write(toAgent, AgentWire.RUN, request.encode());
            answer = AgentWire.read(fromAgent);
        } catch (IOException e) {
            close(channel);
            return OptionalInt.empty();
        } finally {
            watchdog.interrupt();
        }
        if (answer == null || (answer.type() != AgentWire.ACCEPTED && answer.type() != AgentWire.ACCEPTED_PIPES)) {
            close(channel); // declined (another build, another ssh-agent...): nothing has run yet
            if (answer != null && answer.type() == AgentWire.REFUSED && AGENT_ONLY_COMMANDS.contains(args[0])) {
                System.err.println("standin: the agent at " + socket.get() + " declined this command: "
                        + new String(answer.payload(), java.nio.charset.StandardCharsets.UTF_8));
            } else if (answer != null && answer.type() == AgentWire.REFUSED && verbose(args)) {
                System.err.println("standin: the agent at " + socket.get() + " declined this command ("
                        + new String(answer.payload(), java.nio.charset.StandardCharsets.UTF_8) + "); running it here");
            }
            return OptionalInt.empty();
        }
        if (serve && answer.type() == AgentWire.ACCEPTED) {
            startStdinPump(toAgent); // else the agent reads this process's stdin pipe itself
        }
        return OptionalInt.of(relay(fromAgent, socket.get()));
    }

    /** Whether the command asks to be told what happens ({@code -v}, {@code --verbose}, or -v among short flags). */
    static boolean verbose(String[] args) {
        for (String a : args) {
            if (a.equals("--")) {
                return false;
            }
            if (a.equals("--verbose") || a.matches("-[A-Za-z]*v[A-Za-z]*")) {
                return true;
            }
        }
        return false;
    }

    /**
     * An agent that does not answer a request within {@link #ANSWER_TIMEOUT_MILLIS} (wedged,
     * stopped with SIGSTOP, swapping) must not hang the command: the connection is closed, the
     * command says so on stderr and runs in its own process.
     */
    private static Thread hangUpUnanswered(SocketChannel channel, Path socket) {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(ANSWER_TIMEOUT_MILLIS);
            } catch (InterruptedException answered) {
                return;
            }
            System.err.println("standin: the agent at " + socket + " did not answer within "
                    + ANSWER_TIMEOUT_MILLIS / 1000 + " s; running here instead");
            close(channel);
        }, "standin-agent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        return watchdog;
    }

    /** Copies the agent's output frames to this process's stdout and stderr until its exit frame. */
    private static int relay(InputStream fromAgent, Path socket) {
        FileOutputStream stdout = new FileOutputStream(FileDescriptor.out);
        FileOutputStream stderr = new FileOutputStream(FileDescriptor.err);
        try {
            while (true) {
                AgentWire.Frame frame = AgentWire.read(fromAgent);
                if (frame == null) {
                    throw new IOException("it closed the connection");
                }
                switch (frame.type()) {
                    case AgentWire.STDOUT -> stdout.write(frame.payload());
                    case AgentWire.STDERR -> stderr.write(frame.payload());
                    case AgentWire.EXIT -> {
                        return frame.exitStatus();
                    }
                    default -> throw new AgentWire.AgentWireException("unexpected frame type " + frame.type());
                }
            }
        } catch (IOException e) {
            try {
                stderr.write(("standin: lost the agent at " + socket + " during the run (" + e.getMessage()
                        + "); a replica it was writing stays at its last committed point\n").getBytes());
            } catch (IOException ignored) {
                // stderr is gone too
            }
            return 1;
        }
    }

    /** Forwards stdin (the protocol stream {@code serve} reads) to the agent on a daemon thread. */
    private static void startStdinPump(OutputStream toAgent) {
        Thread pump = new Thread(() -> {
            byte[] buffer = new byte[256 << 10];
            try (FileInputStream stdin = new FileInputStream(FileDescriptor.in)) {
                for (int n; (n = stdin.read(buffer)) >= 0; ) {
                    if (n > 0) {
                        AgentWire.write(toAgent, AgentWire.STDIN, buffer, 0, n);
                    }
                }
                AgentWire.write(toAgent, AgentWire.STDIN_END, new byte[0]);
            } catch (IOException e) {
                // The agent is gone; relay() reports it.
            }
        }, "standin-stdin");
        pump.setDaemon(true);
        pump.start();
    }

    private static void close(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing was sent through it
        }
    }
}
