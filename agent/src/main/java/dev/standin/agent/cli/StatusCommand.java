package dev.standin.agent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.Status;
import dev.standin.supervisor.Supervisor;
import dev.standin.supervisor.UnknownTargetException;
import java.io.PrintWriter;
import java.time.ZoneId;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin status [VM]}: every protected VM's health, newest point, running cycle and next start. */
@Command(name = "status", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Shows each protected VM target's health, the age of its newest recovery point against its RPO, "
                + "the cycle running or the next start, and the last error. Asks the running agent.")
final class StatusCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Parameters(index = "0", arity = "0..1", paramLabel = "VM", description = "Only this VM.")
    private String vm;

    @Option(names = "--json", description = "One JSON object: {\"vms\":[{\"name\",\"health\",\"targets\":[...]}]}.")
    private boolean json;

    @Option(names = "--watch", description = "Show it again every 2 seconds until interrupted.")
    private boolean watch;

    @Override
    public Integer call() throws StandinException, InterruptedException {
        Supervisor supervisor = Supervised.of(main.invocation(), "status");
        PrintWriter out = main.invocation().out();
        while (true) {
            Status status;
            try {
                status = supervisor.status(Optional.ofNullable(vm));
            } catch (UnknownTargetException e) {
                throw new StandinException(ExitStatus.AGENT, e.getMessage());
            }
            if (json) {
                try {
                    out.println(new ObjectMapper().writeValueAsString(status));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new StandinException(ExitStatus.ERROR, "cannot write JSON: " + e.getMessage(), e);
                }
            } else {
                if (watch && main.invocation().terminal()) {
                    out.print("\033[H\033[2J");
                }
                out.print(status.text(ZoneId.systemDefault()));
            }
            out.flush();
            if (!watch) {
                return ExitStatus.OK.code();
            }
            Thread.sleep(2000);
        }
    }
}
