package dev.standin.supervisor;

import dev.standin.supervisor.config.SupervisorConfig.Target;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import dev.standin.supervisor.policy.Planner;

/**
 * Runs one cycle for the supervisor: the agent implements it with the cycle engine's one entry
 * point, so the supervisor knows neither the engine nor SSH nor the command line.
 */
@FunctionalInterface
public interface CycleRunner {

    /**
     * Runs a cycle of every disk of {@code vm} to {@code target} and says how it went; a cycle's
     * failure is a result, not an exception. Interrupted: the cycle is abandoned, as a killed
     * process leaves it (the replica at its last committed point).
     *
     * @param bwlimit the bandwidth limit in force now, as written in the file
     * @param progress where the cycle says how far it is
     */
    CycleResult run(Vm vm, Target target, Planner.Kind kind, String bwlimit, CycleProgress progress)
            throws InterruptedException;

    /**
     * Once, before the first cycle is scheduled: brings back to a committed state what a killed
     * agent or a crashed host left here: for {@code vms}, the views their snapshot hooks held and
     * their replicas on this host; under {@code replicaRoots}, the replicas other hosts send here.
     * One line per thing done or refused, for the log; what cannot be recovered here is met
     * again, and reported, by the next cycle.
     */
    default java.util.List<String> recover(java.util.List<Vm> vms, java.util.List<java.nio.file.Path> replicaRoots) {
        return java.util.List.of();
    }
}
