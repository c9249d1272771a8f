package dev.standin.agent.cli;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.CycleResult;
import dev.standin.supervisor.UnknownTargetException;
import dev.standin.supervisor.policy.Outcome;
import dev.standin.supervisor.policy.Planner;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin run VM}: a cycle now, whatever the schedule says. */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Starts a cycle of VM's targets now (as soon as max-parallel allows), whatever their schedule, "
                + "backoff or pause; returns at once unless --wait. Asks the running agent.")
final class RunCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Parameters(index = "0", paramLabel = "VM", description = "The VM, as named in the configuration.")
    private String vm;

    @Option(names = "--target", paramLabel = "DEST", description = "Only this target (its dest as written).")
    private String target;

    @Option(names = "--wait", description = "Wait for the cycles and exit 0 only if all committed (with "
            + "--boot-check: only if every VM point booted; 10 if one did not).")
    private boolean waitForResult;

    @Option(names = "--boot-check", description = "Instead of a cycle, start the newest VM point on each target's host "
            + "as a test failover and check that it boots (as the target's boot-check schedule does).")
    private boolean bootCheck;

    @Override
    public Integer call() throws StandinException, InterruptedException {
        List<CompletableFuture<CycleResult>> started;
        try {
            started = Supervised.of(main.invocation(), "run").runNow(vm, Optional.ofNullable(target),
                    bootCheck ? Planner.Kind.BOOT_CHECK : Planner.Kind.SYNC);
        } catch (UnknownTargetException e) {
            throw new StandinException(ExitStatus.AGENT, e.getMessage());
        }
        if (!waitForResult) {
            main.invocation().out().println("standin: " + started.size() + " cycle" + (started.size() == 1 ? "" : "s")
                    + " of " + vm + " queued; 'standin status " + vm + "' shows them");
            return ExitStatus.OK.code();
        }
        int status = ExitStatus.OK.code();
        for (CompletableFuture<CycleResult> f : started) {
            try {
                CycleResult r = f.get();
                if (r.boot().isPresent()) {
                    var b = r.boot().get();
                    main.invocation().out().println(vm + ": VM point " + b.vmPoint() + ": " + b.verdict() + ": "
                            + b.reason());
                    if (b.failed() && status == ExitStatus.OK.code()) {
                        status = ExitStatus.BOOT.code();
                    }
                }
                if (r.outcome() != Outcome.OK) {
                    main.invocation().err().println("standin: " + vm + ": " + r.error().orElse("failed"));
                    status = ExitStatus.ERROR.code();
                }
            } catch (ExecutionException e) {
                throw new StandinException(ExitStatus.ERROR, vm + ": " + e.getCause(), e);
            }
        }
        return status;
    }
}
