package dev.standin.agent.cli;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.Version;
import dev.standin.agent.daemon.AgentDaemon;
import dev.standin.agent.daemon.AgentSocket;
import dev.standin.agent.daemon.Invocation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code standin agent}: the resident process that runs this user's cycles in a warm JVM. */
@Command(
        name = "agent",
        mixinStandardHelpOptions = true,
        description = {
            "Runs the resident agent: 'standin sync' and 'standin serve' started by the same user then run "
                    + "in this process, which has compiled their code already, instead of in a JVM of their own. "
                    + "Nothing else changes for them: paths, output, exit status and interruption are the "
                    + "command's own. Without a running agent, or with STANDIN_AGENT_SOCKET=none, every command "
                    + "runs in its own process.",
            "The systemd unit install/standin-agent.service runs it as root on /run/standin/agent.sock."
        },
        sortOptions = false)
final class AgentCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "The Unix socket to listen on (default: $STANDIN_AGENT_SOCKET, else /run/standin/agent.sock "
                    + "for root and $XDG_RUNTIME_DIR/standin/agent.sock for other users).")
    private Path socket;

    @Override
    public Integer call() throws StandinException {
        Invocation invocation = main.invocation();
        Path path = socket != null ? socket
                : AgentSocket.path(invocation.environment(), System.getProperty("user.name")).orElseThrow(
                        () -> new StandinException(ExitStatus.USAGE, "no socket for the agent: name one with --socket "
                                + "or " + AgentSocket.VARIABLE));
        dev.standin.nativeio.NativeIo.tryLoad();
        try (AgentDaemon daemon = AgentDaemon.bind(path, Main::run, invocation.err())) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    daemon.close();
                } catch (IOException ignored) {
                    // the socket file stays; the next agent replaces it
                }
            }, "standin-agent-stop"));
            invocation.err().println("standin agent: " + Version.text() + " listening on " + path);
            daemon.serve();
        } catch (IOException e) {
            throw new StandinException(ExitStatus.ERROR, "agent on " + path + ": " + e.getMessage(), e);
        }
        return ExitStatus.OK.code();
    }
}
