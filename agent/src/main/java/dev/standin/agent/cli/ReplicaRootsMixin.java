package dev.standin.agent.cli;

import dev.standin.agent.supervise.TargetCycles;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.config.ConfigException;
import dev.standin.supervisor.config.ConfigReader;
import dev.standin.supervisor.config.SupervisorConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Where a replica host's commands look for a VM: {@code --root DIR}, else the configuration's replica-roots. */
final class ReplicaRootsMixin {

    @Option(names = "--root", paramLabel = "DIR", description = "A directory the replicas are under (repeatable; "
            + "default: replica-roots of the configuration).")
    private List<Path> roots = new ArrayList<>();

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "The configuration whose replica-roots to look in, or, with --planned, that protects the VM "
                    + "(default: "
                    + CheckConfigCommand.DEFAULT_FILE + ").")
    private Path config;

    /** The configuration file (the default when none is named), which must exist. */
    SupervisorConfig config() throws StandinException {
        Path file = config != null ? config : Path.of(CheckConfigCommand.DEFAULT_FILE);
        try {
            return ConfigReader.read(file, TargetCycles.CHECK);
        } catch (ConfigException e) {
            throw new StandinException(ExitStatus.USAGE, e.getMessage());
        }
    }

    /** The roots named on the command line, else the configuration's; none when there is no configuration. */
    List<Path> roots() throws StandinException {
        if (!roots.isEmpty()) {
            return roots;
        }
        if (config == null && !Files.exists(Path.of(CheckConfigCommand.DEFAULT_FILE))) {
            return List.of();
        }
        return config().replicaRoots();
    }
}
