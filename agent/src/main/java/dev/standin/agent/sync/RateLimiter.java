package dev.standin.agent.sync;

import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A token bucket ({@code --bwlimit}, docs/bandwidth-limit.md): bytes may run ahead of the steady
 * rate by at most one burst, a tenth of a second's worth or 64 KiB, whichever is larger. A
 * request for more than a burst is let through a burst at a time. Idle time is not saved up beyond
 * one burst. Shared by threads: the SSH sender limits what it writes, a local cycle what it reads.
 *
 * <p>Kept as virtual scheduling (the generic cell rate algorithm): {@code caughtUpAt} is the
 * instant at which everything let through so far would have passed at exactly the rate. A chunk
 * of {@code n} bytes may pass when {@code caughtUpAt + n/rate - now <= burst/rate}. Times are whole
 * nanoseconds from an injectable clock, and each chunk's duration is rounded up, so nothing runs
 * ahead of the limit by more than one burst, not even by rounding.
 */
public final class RateLimiter {

    /** A monotonic clock in nanoseconds, as {@link System#nanoTime()}. */
    @FunctionalInterface
    public interface NanoClock {
        long nanoTime();
    }

    /** Sleeps for about {@code nanos}; may return early (the limiter checks the clock again). */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(long nanos) throws InterruptedException;
    }

    /** The smallest burst: at low rates a tenth of a second is too few bytes for an SSH packet's worth. */
    public static final long MIN_BURST = 64 << 10;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** The burst's duration at the rate: a tenth of a second. */
    private static final long BURST_DIVISOR = 10;
    /** Chunks stay below 1 GiB so that {@code chunk × 10^9} fits in a long. */
    private static final long MAX_BURST = 1L << 30;

    private final long bytesPerSecond;
    private final long burstBytes;
    private final long burstNanos;
    private final NanoClock clock;
    private final Sleeper sleeper;
    private long caughtUpAt;

    public RateLimiter(long bytesPerSecond) {
        this(bytesPerSecond, System::nanoTime, TimeUnit.NANOSECONDS::sleep);
    }

    public RateLimiter(long bytesPerSecond, NanoClock clock, Sleeper sleeper) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("a bandwidth limit must be positive, not " + bytesPerSecond + " bytes/s");
        }
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
        this.bytesPerSecond = bytesPerSecond;
        this.burstBytes = Math.min(MAX_BURST, Math.max(MIN_BURST, bytesPerSecond / BURST_DIVISOR));
        this.burstNanos = nanosFor(burstBytes);
        this.caughtUpAt = clock.nanoTime();
    }

    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    /** How far the flow may run ahead of the steady rate, in bytes. */
    public long burstBytes() {
        return burstBytes;
    }

    /** Waits until {@code n} bytes may pass, a burst at a time when {@code n} is larger. */
    public void acquire(long n) throws InterruptedException {
        for (long left = n; left > 0; left -= burstBytes) {
            acquireBurst(Math.min(left, burstBytes));
        }
    }

    /** Sleeps until {@code n} (at most a burst) bytes fit in the bucket, and takes them out of it. */
    private synchronized void acquireBurst(long n) throws InterruptedException {
        long cost = nanosFor(n);
        long now = clock.nanoTime();
        // After idle time the schedule restarts from now: idleness is not banked beyond the burst.
        caughtUpAt = Math.max(caughtUpAt, now);
        long sendAt = caughtUpAt + cost - burstNanos;
        while (now < sendAt) {
            sleeper.sleep(sendAt - now);
            now = clock.nanoTime();
        }
        caughtUpAt += cost;
    }

    /** Time {@code bytes} take at the rate, rounded up (bytes ≤ 1 GiB, so the product fits). */
    private long nanosFor(long bytes) {
        long product = bytes * NANOS_PER_SECOND;
        return product / bytesPerSecond + (product % bytesPerSecond == 0 ? 0 : 1);
    }
}
