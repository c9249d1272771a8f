package dev.standin.agent.cli;

import dev.standin.agent.Version;
import dev.standin.agent.daemon.AgentDaemon;
import dev.standin.agent.daemon.AgentSocket;
import dev.standin.agent.daemon.Invocation;
import dev.standin.agent.supervise.Reload;
import dev.standin.agent.supervise.TargetCycles;
import dev.standin.agent.transport.WarmChannels;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.Supervisor;
import dev.standin.supervisor.SupervisorLog;
import dev.standin.supervisor.catalog.Catalog;
import dev.standin.supervisor.catalog.CatalogException;
import dev.standin.supervisor.config.ConfigException;
import dev.standin.supervisor.config.ConfigReader;
import dev.standin.supervisor.config.SupervisorConfig;
import dev.standin.supervisor.metrics.SupervisorMetrics;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
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

    @Option(names = "--config", paramLabel = "FILE",
            description = "The supervisor's configuration: VMs to protect, schedules, targets (default: "
                    + CheckConfigCommand.DEFAULT_FILE + "; without that file the agent protects nothing and only runs "
                    + "forwarded commands). SIGHUP or 'standin reload' reads it again.")
    private Path config;

    @Override
    public Integer call() throws StandinException {
        Invocation invocation = main.invocation();
        Path path = socket != null ? socket
                : AgentSocket.path(invocation.environment(), System.getProperty("user.name")).orElseThrow(
                        () -> new StandinException(ExitStatus.USAGE, "no socket for the agent: name one with --socket "
                                + "or " + AgentSocket.VARIABLE));
        dev.standin.nativeio.NativeIo.tryLoad();
        Path file = config != null ? config : Path.of(CheckConfigCommand.DEFAULT_FILE);
        if (config == null && !Files.exists(file)) {
            invocation.err().println("standin agent: no " + file + ": protecting no VMs");
            // Without this, SIGHUP (systemctl reload) would end the JVM.
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> invocation.err().println("standin agent: "
                    + "started without " + file + "; restart the agent (systemctl restart standin-agent) to read it"));
            return serve(invocation, path, new WarmChannels(), Optional.empty());
        }
        SupervisorConfig settings;
        try {
            settings = ConfigReader.read(file, TargetCycles.CHECK);
        } catch (ConfigException e) {
            throw new StandinException(ExitStatus.USAGE, e.getMessage());
        }
        SupervisorLog log = new SupervisorLog(invocation.err());
        SupervisorMetrics metrics = new SupervisorMetrics();
        WarmChannels warm = new WarmChannels();
        try (Catalog catalog = Catalog.open(settings.stateDir());
                Closeable exporter = exporter(metrics, settings)) {
            Supervisor supervisor = new Supervisor(settings, new TargetCycles(settings.stateDir(), log::info,
                    Optional.of(warm)), catalog, metrics, Clock.systemDefaultZone(), log);
            try {
                // systemctl reload: the file again; a bad one leaves the one in force, and the log says why.
                sun.misc.SignalHandler previous = sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                    try {
                        log.info(Reload.reload(supervisor));
                    } catch (StandinException e) {
                        log.error(e.getMessage());
                    }
                });
                if (previous == sun.misc.SignalHandler.SIG_IGN) {
                    // Started with SIGHUP ignored (nohup): the JVM keeps it so, and the handler never runs.
                    log.warning("SIGHUP is ignored in this process (started under nohup?); reload with 'standin reload'");
                }
                supervisor.start();
                log.info("protecting " + settings.vms().size() + " VMs from " + file + "; metrics "
                        + settings.metrics().map(Object::toString).orElse("off"));
                return serve(invocation, path, warm, Optional.of(supervisor));
            } finally {
                supervisor.close();
            }
        } catch (CatalogException e) {
            throw new StandinException(ExitStatus.DESTINATION, e.getMessage(), e);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.ERROR, "metrics on " + settings.metrics().orElseThrow() + ": "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ExitStatus.INTERRUPTED.code();
        }
    }

    private static Closeable exporter(SupervisorMetrics metrics, SupervisorConfig settings) throws IOException {
        if (settings.metrics().isEmpty()) {
            return () -> { };
        }
        SupervisorConfig.HostPort at = settings.metrics().get();
        return metrics.serve(at.host(), at.port())::close;
    }

    private int serve(Invocation invocation, Path path, WarmChannels warm, Optional<Supervisor> supervisor)
            throws StandinException {
        try (AgentDaemon daemon = AgentDaemon.bind(path, Main::run, invocation.err(), warm, supervisor)) {
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
