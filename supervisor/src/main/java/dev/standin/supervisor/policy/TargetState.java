package dev.standin.supervisor.policy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What policy knows of one target between cycles: its newest point, its recent cycles, and its
 * failures. Immutable; {@link #after} gives the state after one more cycle.
 *
 * @param lastPoint when the newest committed point was taken
 * @param recent cycles of the last {@link #HISTORY} (at most {@link #MAX_RECENT}), oldest first
 * @param consecutiveFailures failures since the last cycle that succeeded
 * @param permanent the last failure was permanent
 * @param lastVerify when the replica was last scrubbed
 * @param since when the supervisor first saw this target (a new target's first scrub counts from it)
 * @param lastBootCheck when its newest VM point was last started to check that it boots
 * @param boot what that check concluded
 */
public record TargetState(Optional<Instant> lastPoint, List<CycleRecord> recent, int consecutiveFailures,
        boolean permanent, boolean needsResync, Optional<Instant> lastVerify, Instant since,
        Optional<Instant> lastBootCheck, Optional<BootOutcome> boot) {

    /** The span of the failure ratio that health looks at (Hyper-V Replica's rule: 20 % of the last hour). */
    public static final Duration HISTORY = Duration.ofHours(1);
    public static final int MAX_RECENT = 64;

    public TargetState {
        recent = List.copyOf(recent);
    }

    public TargetState(Optional<Instant> lastPoint, List<CycleRecord> recent, int consecutiveFailures,
            boolean permanent, boolean needsResync, Optional<Instant> lastVerify, Instant since) {
        this(lastPoint, recent, consecutiveFailures, permanent, needsResync, lastVerify, since, Optional.empty(),
                Optional.empty());
    }

    public static TargetState fresh(Instant now) {
        return new TargetState(Optional.empty(), List.of(), 0, false, false, Optional.empty(), now);
    }

    public TargetState after(CycleRecord cycle) {
        List<CycleRecord> kept = new ArrayList<>(recent);
        kept.add(cycle);
        while (kept.size() > MAX_RECENT) {
            kept.remove(0);
        }
        boolean ok = cycle.outcome() == Outcome.OK;
        Optional<Instant> point = cycle.pointTime().isPresent() ? cycle.pointTime() : lastPoint;
        Optional<Instant> verified = ok && cycle.kind().equals("verify") ? Optional.of(cycle.ended()) : lastVerify;
        boolean checked = ok && cycle.boot().isPresent();
        return new TargetState(point, kept, ok ? 0 : consecutiveFailures + 1,
                cycle.outcome() == Outcome.PERMANENT, ok ? cycle.needsResync() : needsResync || cycle.needsResync(),
                verified, since, checked ? Optional.of(cycle.ended()) : lastBootCheck,
                checked ? cycle.boot() : boot);
    }

    public Optional<CycleRecord> last() {
        return recent.isEmpty() ? Optional.empty() : Optional.of(recent.get(recent.size() - 1));
    }

    public Optional<String> lastError() {
        return last().flatMap(CycleRecord::error);
    }

    /** How long the next incremental cycle is expected to take: the longest of the last three. */
    public Duration expectedDuration() {
        List<Duration> durations = recent.stream()
                .filter(r -> r.outcome() == Outcome.OK && !r.firstCopy() && r.kind().equals("sync"))
                .map(CycleRecord::duration).toList();
        return durations.subList(Math.max(0, durations.size() - 3), durations.size()).stream()
                .max(Duration::compareTo).orElse(Duration.ZERO);
    }
}
