package dev.standin.agent.transport;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Limits the rate at which bytes reach the stream it wraps ({@code --bwlimit}); the SSH sender
 * wraps its channel with it. A token bucket: bytes may run ahead of the steady rate by at most one
 * burst, which is a tenth of a second's worth or 64 KiB, whichever is larger. A write of more than
 * a burst is split into bursts, each sent when it fits, so the link sees a steady flow in steps of
 * at most 0.1 s instead of a second's worth of data followed by a second of silence. Idle time is
 * not saved up beyond one burst.
 *
 * <p>Kept as virtual scheduling (the generic cell rate algorithm): {@code caughtUpAt} is the
 * instant at which everything written so far would have been sent at exactly the rate. A chunk
 * of {@code n} bytes may go when {@code caughtUpAt + n/rate - now <= burst/rate}. All times are
 * whole nanoseconds from an injectable clock, and each chunk's duration is rounded up, so the
 * stream never runs ahead of the limit by more than one burst, not even by rounding.
 */
public final class RateLimitedOutputStream extends OutputStream {

    /** A monotonic clock in nanoseconds, as {@link System#nanoTime()}. */
    @FunctionalInterface
    public interface NanoClock {
        long nanoTime();
    }

    /** Sleeps for about {@code nanos}; may return early (the stream checks the clock again). */
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

    private final OutputStream out;
    private final long bytesPerSecond;
    private final long burstBytes;
    private final long burstNanos;
    private final NanoClock clock;
    private final Sleeper sleeper;
    private long caughtUpAt;

    public RateLimitedOutputStream(OutputStream out, long bytesPerSecond) {
        this(out, bytesPerSecond, System::nanoTime, TimeUnit.NANOSECONDS::sleep);
    }

    public RateLimitedOutputStream(OutputStream out, long bytesPerSecond, NanoClock clock, Sleeper sleeper) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("a bandwidth limit must be positive, not " + bytesPerSecond + " bytes/s");
        }
        this.out = Objects.requireNonNull(out, "out");
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

    /** How far the stream may run ahead of the steady rate, in bytes. */
    public long burstBytes() {
        return burstBytes;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        while (len > 0) {
            int n = (int) Math.min(len, burstBytes);
            waitForRoom(n);
            out.write(b, off, n);
            off += n;
            len -= n;
        }
    }

    /** Sleeps until {@code n} bytes fit in the bucket, and takes them out of it. */
    private void waitForRoom(int n) throws IOException {
        long cost = nanosFor(n);
        long now = clock.nanoTime();
        // After idle time the schedule restarts from now: idleness is not banked beyond the burst.
        caughtUpAt = Math.max(caughtUpAt, now);
        long sendAt = caughtUpAt + cost - burstNanos;
        while (now < sendAt) {
            try {
                sleeper.sleep(sendAt - now);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while limiting bandwidth to " + bytesPerSecond + " bytes/s");
            }
            now = clock.nanoTime();
        }
        caughtUpAt += cost;
    }

    /** Time {@code bytes} take at the rate, rounded up (bytes ≤ 1 GiB, so the product fits). */
    private long nanosFor(long bytes) {
        long product = bytes * NANOS_PER_SECOND;
        return product / bytesPerSecond + (product % bytesPerSecond == 0 ? 0 : 1);
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
