package dev.standin.agent.cli;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.UnknownTargetException;
import dev.standin.supervisor.catalog.CatalogException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin pause VM}. */
@Command(name = "pause", mixinStandardHelpOptions = true,
        description = "Stops starting scheduled cycles of VM (a running one finishes; 'standin run' still runs one); "
                + "its health shows paused. Lasts until 'standin resume', across agent restarts.")
final class PauseCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Parameters(index = "0", paramLabel = "VM")
    private String vm;

    @Override
    public Integer call() throws StandinException {
        return pause(main, "pause", vm, true);
    }

    static int pause(Main main, String command, String vm, boolean pause) throws StandinException {
        try {
            Supervised.of(main.invocation(), command).pause(vm, pause);
        } catch (UnknownTargetException e) {
            throw new StandinException(ExitStatus.AGENT, e.getMessage());
        } catch (CatalogException e) {
            throw new StandinException(ExitStatus.ERROR, e.getMessage(), e);
        }
        main.invocation().out().println("standin: " + vm + (pause ? " paused" : " resumed"));
        return ExitStatus.OK.code();
    }
}
