package dev.standin.agent.transport;

import dev.standin.agent.sync.Progress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A cycle over SSH that has stopped moving is abandoned after {@code --timeout}, as rsync's
 * {@code --timeout} does: a receiver that neither answers nor closes (a stopped process, a disk
 * that no longer completes I/O, a peer lost without a reset) would otherwise hold the cycle, and
 * the supervisor's slot, forever. Movement is anything that shows the cycle advancing: bytes
 * crossing the channel either way, the receiver's keep-alives ({@link Heartbeat}), and this
 * side's own reading of the source, which it reports through this {@link Progress} (a long run of
 * unchanged blocks sends nothing until it ends).
 */
final class StallWatchdog implements Progress, AutoCloseable {

    private final Progress inner;
    private final long timeoutNanos;
    private final LongSupplier wire;
    private final AtomicLong ticks = new AtomicLong();
    private long lastMovement = Long.MIN_VALUE;
    private long lastChange;
    private volatile boolean stalled;
    private Thread watcher;

    /**
     * {@code wire}: a count that grows whenever anything crosses the channel, or -1 while there is
     * no channel to watch (connecting has its own timeout); {@code timeout} zero: never.
     */
    StallWatchdog(Progress inner, Duration timeout, LongSupplier wire) {
        this.inner = inner;
        this.timeoutNanos = timeout.toNanos();
        this.wire = wire;
    }

    /** Watches from now on, on its own thread; {@code onStall} runs once, there, when the cycle has been still for the timeout. */
    synchronized void start(Runnable onStall) {
        if (timeoutNanos == 0 || watcher != null) {
            return;
        }
        stillAt(System.nanoTime());
        long poll = Math.max(1, Math.min(1_000, timeoutNanos / 10 / 1_000_000));
        watcher = new Thread(() -> {
            try {
                while (true) {
                    Thread.sleep(poll);
                    if (stillAt(System.nanoTime())) {
                        stalled = true;
                        onStall.run();
                        return;
                    }
                }
            } catch (InterruptedException e) {
                // closed: the cycle ended
            }
        }, "standin-stall-watchdog");
        watcher.setDaemon(true);
        watcher.start();
    }

    /** Whether nothing has moved for the timeout as of {@code now} (nanoseconds); the watcher's test, and the unit tests'. */
    synchronized boolean stillAt(long now) {
        long onWire = wire.getAsLong();
        long movement = ticks.get() + onWire;
        if (onWire < 0 || movement != lastMovement) {
            lastMovement = movement;
            lastChange = now;
            return false;
        }
        return timeoutNanos > 0 && now - lastChange >= timeoutNanos;
    }

    /** Whether the cycle was abandoned for standing still. */
    boolean stalled() {
        return stalled;
    }

    Duration timeout() {
        return Duration.ofNanos(timeoutNanos);
    }

    @Override
    public void phase(String name, long total) {
        ticks.incrementAndGet();
        inner.phase(name, total);
    }

    @Override
    public void done(long bytes) {
        ticks.incrementAndGet();
        inner.done(bytes);
    }

    @Override
    public void finish() {
        inner.finish();
    }

    @Override
    public void close() {
        Thread w;
        synchronized (this) {
            w = watcher;
        }
        if (w != null && w != Thread.currentThread()) {
            w.interrupt();
            try {
                w.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
