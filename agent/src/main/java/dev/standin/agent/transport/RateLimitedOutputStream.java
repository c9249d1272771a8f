package dev.standin.agent.transport;

import dev.standin.agent.sync.RateLimiter;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Limits the rate at which bytes reach the stream it wraps ({@code --bwlimit} to another host);
 * the SSH sender wraps its channel with it. The limit is kept by a {@link RateLimiter}: a write of
 * more than a burst is split into bursts, each written when it fits, so the link sees a steady flow
 * in steps of at most 0.1 s instead of a second's worth of data followed by a second of silence.
 */
public final class RateLimitedOutputStream extends OutputStream {

    /** The smallest burst: at low rates a tenth of a second is too few bytes for an SSH packet's worth. */
    public static final long MIN_BURST = RateLimiter.MIN_BURST;

    private final OutputStream out;
    private final RateLimiter limiter;

    public RateLimitedOutputStream(OutputStream out, long bytesPerSecond) {
        this(out, bytesPerSecond, System::nanoTime, TimeUnit.NANOSECONDS::sleep);
    }

    public RateLimitedOutputStream(OutputStream out, long bytesPerSecond, RateLimiter.NanoClock clock,
            RateLimiter.Sleeper sleeper) {
        this.limiter = new RateLimiter(bytesPerSecond, clock, sleeper);
        this.out = Objects.requireNonNull(out, "out");
    }

    public long bytesPerSecond() {
        return limiter.bytesPerSecond();
    }

    /** How far the stream may run ahead of the steady rate, in bytes. */
    public long burstBytes() {
        return limiter.burstBytes();
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        while (len > 0) {
            int n = (int) Math.min(len, limiter.burstBytes());
            try {
                limiter.acquire(n);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while limiting bandwidth to " + limiter.bytesPerSecond()
                        + " bytes/s");
            }
            out.write(b, off, n);
            off += n;
            len -= n;
        }
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
