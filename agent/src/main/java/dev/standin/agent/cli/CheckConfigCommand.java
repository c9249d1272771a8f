package dev.standin.agent.cli;

import dev.standin.agent.supervise.TargetCycles;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.config.ConfigException;
import dev.standin.supervisor.config.ConfigReader;
import dev.standin.supervisor.config.SupervisorConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin check-config [FILE]}. */
@Command(name = "check-config", mixinStandardHelpOptions = true,
        description = "Checks the supervisor's configuration file as the agent reads it, running nothing: "
                + "FILE:LINE: reason for the first mistake (exit 2), else a summary (exit 0).")
final class CheckConfigCommand implements Callable<Integer> {

    static final String DEFAULT_FILE = "/etc/standin/standin.yaml";

    @ParentCommand
    private Main main;

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE", defaultValue = DEFAULT_FILE,
            description = "Default: ${DEFAULT-VALUE}.")
    private Path file;

    @Override
    public Integer call() throws StandinException {
        SupervisorConfig config;
        try {
            config = ConfigReader.read(file, TargetCycles.CHECK);
        } catch (ConfigException e) {
            throw new StandinException(ExitStatus.USAGE, e.getMessage());
        }
        long targets = config.vms().stream().mapToLong(v -> v.targets().size()).sum();
        main.invocation().out().println(file + ": OK: " + config.vms().size() + " VM" + (config.vms().size() == 1 ? ""
                : "s") + ", " + targets + " target" + (targets == 1 ? "" : "s") + ", state in " + config.stateDir()
                + ", metrics " + config.metrics().map(Object::toString).orElse("off"));
        return ExitStatus.OK.code();
    }
}
