package dev.standin.supervisor.policy;

import java.time.Duration;

/**
 * Waits between retries of a target that keeps failing: {@code first}, doubling up to {@code max},
 * each spread by up to ±{@code jitter} so that targets cut by one outage do not all come back in
 * the same second. The spread is drawn from the target's seed and the attempt, so it is the same
 * on every evaluation (a schedule must not move each time it is looked at).
 */
public record Backoff(Duration first, Duration max, double jitter) {

    public static final Backoff DEFAULT = new Backoff(Duration.ofSeconds(30), Duration.ofMinutes(10), 0.2);

    /** The wait after the {@code failures}-th failure in a row (1 for the first). */
    public Duration after(int failures, long seed) {
        long base = first.toMillis();
        for (int i = 1; i < failures && base < max.toMillis(); i++) {
            base *= 2;
        }
        base = Math.min(base, max.toMillis());
        double spread = (unit(seed, failures) * 2 - 1) * jitter; // in [-jitter, +jitter)
        return Duration.ofMillis(Math.round(base * (1 + spread)));
    }

    /** A number in [0, 1) from two longs (SplitMix64's finalizer). */
    static double unit(long seed, long n) {
        long z = seed + n * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
