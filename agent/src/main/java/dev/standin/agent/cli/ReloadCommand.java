package dev.standin.agent.cli;

import dev.standin.agent.supervise.Reload;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code standin reload}: what SIGHUP (systemctl reload) does, with the verdict on the terminal. */
@Command(name = "reload", mixinStandardHelpOptions = true,
        description = "Makes the running agent read its configuration file again. Running cycles go on; a file "
                + "that fails its checks leaves the one in force and says why (as 'systemctl reload standin-agent').")
final class ReloadCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Override
    public Integer call() throws StandinException {
        String said = Reload.reload(Supervised.of(main.invocation(), "reload"));
        main.invocation().out().println("standin: " + said);
        return ExitStatus.OK.code();
    }
}
