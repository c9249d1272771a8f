package dev.standin.supervisor;

import dev.standin.supervisor.catalog.Catalog;
import dev.standin.supervisor.policy.BootOutcome;
import dev.standin.supervisor.policy.Outcome;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How a cycle of all of a VM's disks to one target went.
 *
 * @param outcome ok, or failed with or without hope from a retry (the engine's classification)
 * @param firstCopy the cycle made the replica
 * @param tracking how changed blocks were found (e.g. {@code dirty-bitmap}, {@code scan})
 * @param points the recovery point each disk committed, in the VM's disk order (empty unless ok)
 * @param error the failure in words, one line
 * @param needsResync the replica differs from its record and was not repaired
 * @param scrub what a verify cycle found
 * @param boot what a boot check concluded
 */
public record CycleResult(Outcome outcome, boolean firstCopy, long bytesRead, long bytesSent, Optional<String> tracking,
        List<Long> points, Optional<String> error, boolean needsResync, Optional<Catalog.Scrub> scrub,
        Optional<BootOutcome> boot) {

    public CycleResult {
        Objects.requireNonNull(outcome);
        Objects.requireNonNull(tracking);
        points = List.copyOf(points);
        Objects.requireNonNull(error);
        Objects.requireNonNull(scrub);
        Objects.requireNonNull(boot);
    }

    public CycleResult(Outcome outcome, boolean firstCopy, long bytesRead, long bytesSent, Optional<String> tracking,
            List<Long> points, Optional<String> error, boolean needsResync, Optional<Catalog.Scrub> scrub) {
        this(outcome, firstCopy, bytesRead, bytesSent, tracking, points, error, needsResync, scrub, Optional.empty());
    }

    /** A boot check that ran, whatever its verdict (a VM that does not boot is the health's, not a failed cycle). */
    public static CycleResult checked(BootOutcome boot) {
        return new CycleResult(Outcome.OK, false, 0, 0, Optional.empty(), List.of(), Optional.empty(), false,
                Optional.empty(), Optional.of(boot));
    }

    public static CycleResult failed(Outcome outcome, String error) {
        return new CycleResult(outcome, false, 0, 0, Optional.empty(), List.of(), Optional.of(error), false,
                Optional.empty());
    }
}
