package dev.standin.supervisor.policy;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Optional;

/**
 * When a target's next cycle starts, and which kind: pure functions of its policy, its state and
 * the time, so that every rule is tested with a clock that does not move by itself.
 *
 * <ul>
 * <li>No point yet: the first copy starts now (a new target is protected from the start).
 * <li>Failed last time: after {@link Backoff} (transient), capped at half the RPO (but not under the
 *     backoff's first wait), or {@code permanentRetry} (permanent: a retry storm would not fix a
 *     host key and fills logs).
 * <li>RPO: so that the cycle commits before the newest point ages past the RPO: the point's time
 *     plus the RPO, less 1.5 times the longest of the last three cycles, less a tenth of the RPO,
 *     and less a jitter of up to a twentieth of the RPO (at most a minute) from the target's seed.
 * <li>Continuous: {@code gap} after the last cycle ended. Calendar: the next time after the last
 *     start; a time missed while the agent was down is due at once.
 * <li>A scheduled verify or boot check takes the place of the cycle it comes before.
 * <li>Never before {@code minimumGap} after the last cycle ended; only inside the window.
 * </ul>
 */
public record Planner(Backoff backoff, Duration permanentRetry, Duration minimumGap) {

    public static final Planner DEFAULT = new Planner(Backoff.DEFAULT, Duration.ofHours(1), Duration.ofSeconds(5));

    /** What the next cycle does. */
    public enum Kind {
        SYNC, VERIFY, BOOT_CHECK;

        /** As the catalog and the log name it. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    public record Next(Instant at, Kind kind, String why) { }

    public Next next(TargetPolicy policy, TargetState state, Instant now, ZoneId zone, long seed) {
        Optional<Instant> lastEnd = state.last().map(CycleRecord::ended);
        Next next;
        if (state.lastPoint().isEmpty() && state.consecutiveFailures() == 0) {
            next = new Next(now, Kind.SYNC, "first copy");
        } else if (state.permanent()) {
            next = new Next(lastEnd.orElse(now).plus(permanentRetry), Kind.SYNC, "retry after a permanent failure");
        } else if (state.consecutiveFailures() > 0) {
            Duration wait = backoff.after(state.consecutiveFailures(), seed);
            // A short RPO is not left to wait out a long backoff: at most half the RPO between tries.
            Duration cap = policy.rpo().dividedBy(2);
            if (wait.compareTo(cap) > 0 && cap.compareTo(backoff.first()) > 0) {
                wait = cap;
            } else if (wait.compareTo(cap) > 0) {
                wait = backoff.after(1, seed);
            }
            next = new Next(lastEnd.orElse(now).plus(wait), Kind.SYNC, "retry " + state.consecutiveFailures()
                    + " after " + Durations.format(wait));
        } else if (state.needsResync()) {
            next = new Next(now, Kind.SYNC, "repair");
        } else {
            next = scheduled(policy, state, now, zone, seed);
            Optional<Instant> verifyAt = policy.verify().map(v -> state.lastVerify().orElse(state.since()).plus(v));
            if (verifyAt.isPresent() && !verifyAt.get().isAfter(next.at())) {
                next = new Next(verifyAt.get(), Kind.VERIFY, "scheduled verify");
            }
            Optional<Instant> bootAt = policy.bootCheck().map(b -> state.lastBootCheck().orElse(state.since()).plus(b));
            if (bootAt.isPresent() && !bootAt.get().isAfter(next.at())) {
                next = new Next(bootAt.get(), Kind.BOOT_CHECK, "scheduled boot check");
            }
        }
        Instant at = next.at();
        if (lastEnd.isPresent() && at.isBefore(lastEnd.get().plus(minimumGap))) {
            at = lastEnd.get().plus(minimumGap);
        }
        if (policy.window().isPresent()) {
            ZonedDateTime from = (at.isBefore(now) ? now : at).atZone(zone);
            at = policy.window().get().nextOpen(from).toInstant();
        }
        return new Next(at, next.kind(), next.why());
    }

    private Next scheduled(TargetPolicy policy, TargetState state, Instant now, ZoneId zone, long seed) {
        Instant point = state.lastPoint().orElseThrow();
        Optional<Instant> lastEnd = state.last().map(CycleRecord::ended);
        if (policy.cadence() instanceof Cadence.Rpo r) {
            Duration rpo = r.rpo();
            Duration jitter = Duration.ofMillis(Math.round(Backoff.unit(seed, 0) * Math.min(rpo.toMillis() / 20, 60_000)));
            Duration lead = state.expectedDuration().multipliedBy(3).dividedBy(2).plus(rpo.dividedBy(10)).plus(jitter);
            return new Next(point.plus(rpo).minus(lead), Kind.SYNC, "RPO " + Durations.format(rpo));
        }
        if (policy.cadence() instanceof Cadence.Continuous c) {
            return new Next(lastEnd.orElse(now).plus(c.gap()), Kind.SYNC, "continuous");
        }
        CalendarSchedule schedule = ((Cadence.Calendar) policy.cadence()).schedule();
        Instant lastStart = state.recent().stream().filter(x -> x.kind().equals("sync"))
                .map(CycleRecord::started).reduce((a, b) -> b).orElse(point);
        return new Next(schedule.next(lastStart.atZone(zone)).toInstant(), Kind.SYNC, schedule.text());
    }

    /**
     * How much time is left before the target's newest point ages past its RPO, less what its next
     * cycle is expected to take: the smallest goes first when {@code max-parallel} holds others back.
     * A target without a point counts as due now, behind those already late.
     */
    public static Duration slack(TargetPolicy policy, TargetState state, Instant now) {
        if (state.lastPoint().isEmpty()) {
            return Duration.ZERO;
        }
        return Duration.between(now, state.lastPoint().get().plus(policy.rpo())).minus(state.expectedDuration());
    }
}
