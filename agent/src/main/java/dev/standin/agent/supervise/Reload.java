package dev.standin.agent.supervise;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.Supervisor;
import dev.standin.supervisor.catalog.CatalogException;
import dev.standin.supervisor.config.ConfigException;
import dev.standin.supervisor.config.ConfigReader;
import dev.standin.supervisor.config.SupervisorConfig;
import java.nio.file.Path;

/** Reading the configuration file again (SIGHUP, {@code standin reload}): the new one in force, or the old one kept. */
public final class Reload {

    private Reload() {
    }

    /** What was done, in words; a file that fails its checks is a StandinException and changes nothing. */
    public static String reload(Supervisor supervisor) throws StandinException {
        String file = supervisor.config().file();
        SupervisorConfig next;
        try {
            next = ConfigReader.read(Path.of(file), TargetCycles.CHECK);
        } catch (ConfigException e) {
            throw new StandinException(ExitStatus.USAGE, e.getMessage() + "; the configuration in force is unchanged");
        }
        if (!next.stateDir().equals(supervisor.config().stateDir())) {
            throw new StandinException(ExitStatus.USAGE, file + ": state-dir changed; that takes a restart of the "
                    + "agent; the configuration in force is unchanged");
        }
        try {
            supervisor.reload(next);
        } catch (CatalogException e) {
            throw new StandinException(ExitStatus.ERROR, e.getMessage(), e);
        }
        long targets = next.vms().stream().mapToLong(v -> v.targets().size()).sum();
        return file + " in force: " + next.vms().size() + " VMs, " + targets + " targets";
    }
}
