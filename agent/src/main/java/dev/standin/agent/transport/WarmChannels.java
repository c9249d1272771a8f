package dev.standin.agent.transport;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Serve channels opened and greeted ahead of the next cycle, kept by a long-lived process (the
 * resident agent, docs/agent.md). Before its first useful byte a cycle over SSH spent ~0.35 s of
 * a 1.5 s incremental: the TCP connection and key exchange, the exec request, and above all the
 * remote standin starting. After a cycle succeeds, its connection opens the next channel at once
 * and exchanges Hellos on it in the background; the next cycle to the same place, with the same
 * options, takes that channel and begins with Open.
 *
 * <p>A channel is kept for {@link #IDLE}, and at most {@link #MAX} of them: a disk protected
 * back to back or every few minutes gains the 0.35 s each cycle, while a nightly one would gain
 * nothing from a channel held all day, and each holds a process on the replica host (sshd's and
 * a standin JVM's, ~40 MiB when that host runs an agent too). One that
 * died meanwhile (the replica host restarted, the connection dropped) is noticed before or at
 * Open, and the cycle then starts over on a new connection ({@link SshDestination}).
 */
public final class WarmChannels implements AutoCloseable {

    public static final Duration IDLE = Duration.ofMinutes(10);
    static final int MAX = 16;
    /** A receiver that has not greeted within this is not waited for. */
    private static final Duration GREETING = Duration.ofSeconds(30);
    /** How long a cycle waits for a greeting under way for it before it connects on its own. */
    private static final Duration TAKE_WAIT = Duration.ofSeconds(10);

    /** Where a channel leads and how it was opened: a cycle may take only a channel opened as it would open one. */
    record Key(RemoteLocation location, SshOptions options, String command) {}

    /** A greeted channel and the connection it belongs to, which it owns. */
    record Warm(SshConnection connection, ServeChannel channel, long since) implements AutoCloseable {
        @Override
        public void close() {
            channel.close();
            connection.close();
        }
    }

    private final Map<Key, Warm> warm = new HashMap<>();
    /** Greetings under way, with the connection whose closing ends each. */
    private final Map<Thread, SshConnection> greeting = new HashMap<>();
    /** The greeting under way for each key, the newest if several are. */
    private final Map<Key, Thread> greetingFor = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "standin-warm-channels");
        thread.setDaemon(true);
        return thread;
    });
    private final Duration idle;
    private boolean closed;

    public WarmChannels() {
        this(IDLE);
    }

    /** Keeping each channel for {@code idle} instead of {@link #IDLE} (for tests). */
    WarmChannels(Duration idle) {
        this.idle = idle;
        long period = Math.max(1, idle.toMillis() / 4);
        timer.scheduleAtFixedRate(this::expire, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * The greeted channel waiting for {@code key}, if one is and it still looks alive; the caller
     * owns it. A greeting still under way for {@code key} is waited for (up to {@link #TAKE_WAIT}):
     * the remote standin it waits for is already starting, which a new connection would only
     * begin to do.
     */
    Optional<Warm> take(Key key) {
        Thread pending;
        synchronized (this) {
            pending = greetingFor.get(key);
        }
        if (pending != null) {
            try {
                pending.join(TAKE_WAIT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return takeReady(key);
    }

    private synchronized Optional<Warm> takeReady(Key key) {
        Warm taken = warm.remove(key);
        if (taken == null) {
            return Optional.empty();
        }
        if (!taken.channel().isOpen() || expired(taken)) {
            taken.close();
            return Optional.empty();
        }
        return Optional.of(taken);
    }

    /**
     * Takes over {@code connection}, whose last cycle succeeded: opens the next serve channel on it
     * and greets the receiver on a thread of its own; the connection is closed if that fails.
     */
    void prepare(Key key, SshConnection connection) {
        Thread thread = new Thread(() -> greet(key, connection), "standin-warm-" + key.location().host());
        thread.setDaemon(true);
        synchronized (this) {
            if (closed) {
                connection.close();
                return;
            }
            greeting.put(thread, connection);
            greetingFor.put(key, thread);
            thread.start(); // inside: a cycle that finds the greeting registered can join it at once
        }
    }

    private void greet(Key key, SshConnection connection) {
        ServeChannel channel = null;
        try {
            channel = ServeChannel.open(connection, key.command(), key.options());
            ServeChannel greeting = channel;
            // Closing the channel is the only way to stop a read from a receiver that never answers.
            var watchdog = timer.schedule(greeting::close, GREETING.toMillis(), TimeUnit.MILLISECONDS);
            channel.greet();
            watchdog.cancel(false);
            if (keep(key, new Warm(connection, channel, System.nanoTime()))) {
                return;
            }
        } catch (Exception e) {
            // Only a head start was lost: the next cycle connects as it would have anyway.
        } finally {
            synchronized (this) {
                greeting.remove(Thread.currentThread());
                greetingFor.remove(key, Thread.currentThread());
            }
        }
        if (channel != null) {
            channel.close();
        }
        connection.close();
    }

    private synchronized boolean keep(Key key, Warm ready) {
        if (closed || (warm.size() >= MAX && !warm.containsKey(key))) {
            return false;
        }
        Warm older = warm.put(key, ready);
        if (older != null) {
            older.close();
        }
        return true;
    }

    private void expire() {
        List<Warm> stale = new ArrayList<>();
        synchronized (this) {
            warm.values().removeIf(w -> {
                boolean old = expired(w) || !w.channel().isOpen();
                if (old) {
                    stale.add(w);
                }
                return old;
            });
        }
        stale.forEach(Warm::close);
    }

    private boolean expired(Warm w) {
        return System.nanoTime() - w.since() > idle.toNanos();
    }

    /** How many channels are waiting (for tests and the agent's log). */
    public synchronized int size() {
        return warm.size();
    }

    /** Lets every channel go, greeted or still greeting; returns once none is left. */
    @Override
    public void close() {
        List<Warm> all;
        Map<Thread, SshConnection> underWay;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(warm.values());
            warm.clear();
            underWay = new HashMap<>(greeting);
        }
        all.forEach(Warm::close);
        underWay.values().forEach(SshConnection::close);
        for (Thread thread : underWay.keySet()) {
            try {
                thread.join(GREETING.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        timer.shutdownNow();
    }
}
