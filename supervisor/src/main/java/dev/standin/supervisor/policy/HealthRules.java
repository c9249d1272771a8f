package dev.standin.supervisor.policy;

import java.time.Duration;
import java.time.Instant;

/**
 * A target's health and the reason for it, in the order the rules are tried:
 * paused; critical after a permanent failure or when the replica needs a resync; initial-sync
 * until the first point; critical when the newest point is older than {@code criticalAfter}
 * RPOs; warning when older than the RPO, or when more than 20 % of the last hour's cycles
 * failed (Hyper-V Replica's rule), or when the last boot check's VM point did not boot; else ok.
 */
public final class HealthRules {

    public static final double FAILED_SHARE = 0.2;

    private HealthRules() {
    }

    public record Verdict(Health health, String reason) { }

    public static Verdict judge(TargetPolicy policy, TargetState state, boolean paused, Instant now) {
        if (paused) {
            return new Verdict(Health.PAUSED, "paused by standin pause");
        }
        if (state.permanent()) {
            return new Verdict(Health.CRITICAL, state.lastError().orElse("failed") + " (not retried before "
                    + "an hour, a config change or standin run)");
        }
        if (state.needsResync()) {
            return new Verdict(Health.CRITICAL, "the replica needs a resync: " + state.lastError().orElse(
                    "it differs from its record"));
        }
        if (state.lastPoint().isEmpty()) {
            return new Verdict(Health.INITIAL_SYNC, state.lastError().map(e -> "first copy; last try: " + e)
                    .orElse("first copy"));
        }
        Duration age = Duration.between(state.lastPoint().get(), now);
        Duration rpo = policy.rpo();
        if (age.toMillis() > rpo.toMillis() * policy.criticalAfter()) {
            return new Verdict(Health.CRITICAL, "newest point is " + Durations.format(age) + " old, over "
                    + trim(policy.criticalAfter()) + " x RPO " + Durations.format(rpo) + lastError(state));
        }
        if (age.compareTo(rpo) > 0) {
            return new Verdict(Health.WARNING, "newest point is " + Durations.format(age) + " old, over RPO "
                    + Durations.format(rpo) + lastError(state));
        }
        Instant hourAgo = now.minus(TargetState.HISTORY);
        long cycles = state.recent().stream().filter(r -> r.ended().isAfter(hourAgo)).count();
        long failed = state.recent().stream().filter(r -> r.ended().isAfter(hourAgo) && r.outcome() != Outcome.OK)
                .count();
        if (cycles > 0 && failed > cycles * FAILED_SHARE) {
            return new Verdict(Health.WARNING, failed + " of " + cycles + " cycles in the last hour failed"
                    + lastError(state));
        }
        if (state.boot().isPresent() && state.boot().get().failed()) {
            return new Verdict(Health.WARNING, "VM point " + state.boot().get().vmPoint() + " did not boot in its "
                    + "boot check: " + state.boot().get().reason());
        }
        return new Verdict(Health.OK, "newest point " + Durations.format(age) + " old, RPO " + Durations.format(rpo));
    }

    private static String lastError(TargetState state) {
        return state.consecutiveFailures() > 0 ? "; last error: " + state.lastError().orElse("?") : "";
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
