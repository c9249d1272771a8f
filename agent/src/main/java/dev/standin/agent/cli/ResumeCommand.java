package dev.standin.agent.cli;

import dev.standin.failure.StandinException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin resume VM}. */
@Command(name = "resume", mixinStandardHelpOptions = true, description = "Schedules VM's cycles again after 'standin pause'.")
final class ResumeCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Parameters(index = "0", paramLabel = "VM")
    private String vm;

    @Override
    public Integer call() throws StandinException {
        return PauseCommand.pause(main, "resume", vm, false);
    }
}
