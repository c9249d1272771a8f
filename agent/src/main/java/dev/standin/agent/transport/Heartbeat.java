package dev.standin.agent.transport;

import dev.standin.agent.sync.Progress;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The receiver's side of the sender's {@code --timeout}, as rsync's keep-alives are: the progress
 * of the receiver's own work (signing or scrubbing the replica, committing) goes to this
 * {@link Progress}, and every {@link #INTERVAL} in which it advanced, a {@link Message.KeepAlive}
 * tells the sender so. A receiver stuck in a dead disk advances nothing and sends nothing, so the
 * sender's watchdog still fires: the beat proves progress, not merely a live process.
 */
final class Heartbeat implements Progress, AutoCloseable {

    /** Well inside the shortest --timeout (5 s); 17 bytes a second while the receiver works. */
    static final Duration INTERVAL = Duration.ofSeconds(1);

    private final MessageChannel channel;
    private final AtomicLong progress = new AtomicLong();
    private final ScheduledExecutorService beat;
    private long sent;

    private Heartbeat(MessageChannel channel, Duration interval) {
        this.channel = channel;
        this.beat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "standin-serve-heartbeat");
            t.setDaemon(true);
            return t;
        });
        beat.scheduleWithFixedDelay(this::beat, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Starts beating on {@code channel}; {@link #close} stops it before the cycle's last message. */
    static Heartbeat start(MessageChannel channel, Duration interval) {
        return new Heartbeat(channel, interval);
    }

    @Override
    public void phase(String name, long total) {
        progress.incrementAndGet();
    }

    @Override
    public void done(long bytes) {
        progress.incrementAndGet();
    }

    /** One beat: a KeepAlive if the work advanced since the last; the scheduler's, and tests' by hand. */
    synchronized void beat() {
        long now = progress.get();
        if (now == sent) {
            return;
        }
        try {
            channel.send(new Message.KeepAlive(now));
            sent = now;
        } catch (IOException | RuntimeException e) {
            beat.shutdown(); // the sender is gone; the cycle's own read or write says so
        }
    }

    /** No KeepAlive is sent after this returns. */
    @Override
    public void close() {
        beat.shutdownNow();
        try {
            beat.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
