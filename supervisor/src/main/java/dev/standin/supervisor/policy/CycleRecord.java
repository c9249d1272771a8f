package dev.standin.supervisor.policy;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One finished cycle of a target, as policy needs it.
 *
 * @param kind {@code sync}, {@code verify} or {@code boot-check}
 * @param firstCopy a cycle that made the replica (its duration says nothing of the next ones)
 * @param pointTime when the point it committed was taken; empty if it committed none
 * @param error the failure in words; empty if it succeeded
 * @param needsResync the replica is not what its record says and the cycle could not repair it
 * @param boot what a boot check concluded
 */
public record CycleRecord(String kind, Instant started, Instant ended, Outcome outcome, boolean firstCopy,
        Optional<Instant> pointTime, Optional<String> error, boolean needsResync, Optional<BootOutcome> boot) {

    public static final String BOOT_CHECK = "boot-check";

    public CycleRecord {
        Objects.requireNonNull(started);
        Objects.requireNonNull(ended);
        Objects.requireNonNull(pointTime);
        Objects.requireNonNull(error);
        Objects.requireNonNull(boot);
    }

    public CycleRecord(String kind, Instant started, Instant ended, Outcome outcome, boolean firstCopy,
            Optional<Instant> pointTime, Optional<String> error, boolean needsResync) {
        this(kind, started, ended, outcome, firstCopy, pointTime, error, needsResync, Optional.empty());
    }

    public Duration duration() {
        return Duration.between(started, ended);
    }
}
