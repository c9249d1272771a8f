package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The token bucket against a virtual clock: sleeping advances the clock, and the wrapped stream
 * records when each byte arrived. No assertion depends on the machine's real clock.
 */
class RateLimitedOutputStreamTest {

    private static final long MIB = 1 << 20;
    private static final long SECOND = 1_000_000_000L;

    /** A clock that only moves when the stream sleeps or the test says so. */
    private static final class VirtualTime implements dev.standin.agent.sync.RateLimiter.NanoClock, dev.standin.agent.sync.RateLimiter.Sleeper {
        long now = 123_456_789L; // not zero, so that nothing relies on starting at 0
        final List<Long> sleeps = new ArrayList<>();

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public void sleep(long nanos) {
            assertTrue(nanos > 0, "slept " + nanos + " ns");
            sleeps.add(nanos);
            now += nanos;
        }
    }

    /** One write that reached the wrapped stream: when, how many bytes, how many in all so far. */
    private record Arrival(long at, int bytes, long total) {}

    private static final class RecordingStream extends OutputStream {
        final VirtualTime time;
        final List<Arrival> arrivals = new ArrayList<>();
        /** The bytes themselves, only where a test compares them (the other tests write gigabytes). */
        final ByteArrayOutputStream content;
        long total;

        RecordingStream(VirtualTime time, boolean keepContent) {
            this.time = time;
            this.content = keepContent ? new ByteArrayOutputStream() : null;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            total += len;
            arrivals.add(new Arrival(time.now, len, total));
            if (content != null) {
                content.write(b, off, len);
            }
        }
    }

    @Test
    void tenMebibytesAtOneMebibytePerSecondTakeTenSecondsOfVirtualTime() throws IOException {
        VirtualTime time = new VirtualTime();
        RecordingStream sink = new RecordingStream(time, true);
        long start = time.now;
        byte[] data = new byte[(int) (10 * MIB)];
        new SplittableRandom(1).nextBytes(data);
        try (RateLimitedOutputStream out = new RateLimitedOutputStream(sink, MIB, time, time)) {
            for (int off = 0; off < data.length; off += 256 << 10) {
                out.write(data, off, 256 << 10);
            }
            long burst = out.burstBytes();
            assertEquals(MIB / 10, burst);
            long elapsed = time.now - start;
            long burstNanos = burst * SECOND / MIB;
            assertTrue(Math.abs(elapsed - 10 * SECOND) <= burstNanos, "10 MiB took " + elapsed + " ns");
            // The first burst goes at once; the rest at exactly the rate (rounded up per chunk).
            assertTrue(elapsed >= (10 * MIB - burst) * SECOND / MIB, elapsed + " ns is faster than the limit");
        }
        assertArrayEquals(data, sink.content.toByteArray());
    }

    @Test
    void neverMoreThanOneBurstAheadOfTheRateOverAnyInterval() throws IOException {
        for (long rate : new long[] {100_000, MIB, 3_000_000, 50 * MIB}) {
            VirtualTime time = new VirtualTime();
            RecordingStream sink = new RecordingStream(time, false);
            SplittableRandom random = new SplittableRandom(rate);
            long burst;
            try (RateLimitedOutputStream out = new RateLimitedOutputStream(sink, rate, time, time)) {
                burst = out.burstBytes();
                for (int i = 0; i < 400; i++) {
                    out.write(new byte[1 + random.nextInt((int) (3 * burst))]);
                    if (random.nextInt(4) == 0) {
                        time.now += random.nextLong(2 * SECOND); // the sender had nothing to send for a while
                    }
                }
            }
            // Over every interval [t_i, t_j], arrivals i..j hold at most rate × (t_j − t_i) + burst
            // bytes: C_j − C_(i−1) ≤ rate·(t_j − t_i)/10^9 + burst, checked in one pass by keeping
            // the smallest C_(i−1)·10^9 − rate·t_i seen so far.
            long t0 = sink.arrivals.get(0).at();
            long smallest = Long.MAX_VALUE;
            long previousTotal = 0;
            for (Arrival a : sink.arrivals) {
                long t = a.at() - t0;
                smallest = Math.min(smallest, previousTotal * SECOND - rate * t);
                long ahead = a.total() * SECOND - rate * t - smallest;
                assertTrue(ahead <= burst * SECOND, "at " + rate + " B/s, " + (ahead / SECOND) + " bytes in an interval "
                        + "exceed the rate by more than the burst of " + burst);
                assertTrue(a.bytes() <= burst, "a write of " + a.bytes() + " bytes, more than a burst");
                previousTotal = a.total();
            }
        }
    }

    @Test
    void aLargeWriteGoesOutInBurstsWithShortSleeps() throws IOException {
        VirtualTime time = new VirtualTime();
        RecordingStream sink = new RecordingStream(time, false);
        try (RateLimitedOutputStream out = new RateLimitedOutputStream(sink, MIB, time, time)) {
            out.write(new byte[(int) (5 * MIB)]);
            long burst = out.burstBytes();
            assertEquals((5 * MIB + burst - 1) / burst, sink.arrivals.size());
            long burstNanos = (burst * SECOND + MIB - 1) / MIB;
            assertTrue(time.sleeps.stream().allMatch(s -> s <= burstNanos), "a sleep longer than a burst: " + time.sleeps);
            // Steady: once the first burst is spent, each chunk waits exactly its own time at the
            // rate (a tenth of a second for a whole burst), never a second-long gap.
            for (int i = 1; i < sink.arrivals.size(); i++) {
                long gap = sink.arrivals.get(i).at() - sink.arrivals.get(i - 1).at();
                long own = sink.arrivals.get(i).bytes() * SECOND / MIB;
                assertTrue(Math.abs(gap - own) <= 1000, "gap of " + gap + " ns before a chunk that takes " + own + " ns");
            }
        }
    }

    @Test
    void idleTimeIsNotSavedUpBeyondOneBurst() throws IOException {
        VirtualTime time = new VirtualTime();
        RecordingStream sink = new RecordingStream(time, false);
        try (RateLimitedOutputStream out = new RateLimitedOutputStream(sink, MIB, time, time)) {
            long burst = out.burstBytes();
            out.write(new byte[(int) burst]);
            time.now += 60 * SECOND; // a minute with nothing to send
            long resumed = time.now;
            out.write(new byte[(int) (10 * burst)]);
            long elapsed = time.now - resumed;
            assertTrue(elapsed >= 9 * burst * SECOND / MIB, "after idling, 10 bursts went out in " + elapsed + " ns");
        }
    }

    @Test
    void burstIsATenthOfASecondOrSixtyFourKibibytes() {
        OutputStream sink = OutputStream.nullOutputStream();
        assertEquals(64 << 10, new RateLimitedOutputStream(sink, 100_000).burstBytes());
        assertEquals(64 << 10, new RateLimitedOutputStream(sink, 1024).burstBytes());
        assertEquals(10 * MIB / 10, new RateLimitedOutputStream(sink, 10 * MIB).burstBytes());
        assertEquals(1L << 30, new RateLimitedOutputStream(sink, Long.MAX_VALUE).burstBytes());
    }

    @Test
    void zeroOrNegativeLimitsAreRefused() {
        OutputStream sink = OutputStream.nullOutputStream();
        assertThrows(IllegalArgumentException.class, () -> new RateLimitedOutputStream(sink, 0));
        assertThrows(IllegalArgumentException.class, () -> new RateLimitedOutputStream(sink, -1));
        assertThrows(IllegalArgumentException.class, () -> new RateLimitedOutputStream(sink, Long.MIN_VALUE));
    }

    @Test
    void anInterruptedSleepBecomesAnInterruptedIoException() {
        VirtualTime time = new VirtualTime();
        RateLimitedOutputStream out = new RateLimitedOutputStream(OutputStream.nullOutputStream(), MIB, time,
                nanos -> {
                    throw new InterruptedException();
                });
        try {
            assertThrows(InterruptedIOException.class, () -> out.write(new byte[(int) (2 * MIB)]));
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt was swallowed");
        } finally {
            Thread.interrupted();
        }
    }
}
