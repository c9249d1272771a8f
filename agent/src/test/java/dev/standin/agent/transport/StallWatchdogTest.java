package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.sync.Progress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The watchdog's rule on a clock the test moves: still for the timeout, and only then, is a stall. */
class StallWatchdogTest {

    private static final long S = 1_000_000_000L;

    private final AtomicLong wire = new AtomicLong();

    @Test
    void stillForTheTimeoutIsAStall() {
        StallWatchdog w = new StallWatchdog(Progress.NONE, Duration.ofSeconds(60), wire::get);
        assertFalse(w.stillAt(0));
        assertFalse(w.stillAt(59 * S));
        assertTrue(w.stillAt(60 * S));
    }

    @Test
    void anythingMovingStartsTheWaitAgain() {
        StallWatchdog w = new StallWatchdog(Progress.NONE, Duration.ofSeconds(60), wire::get);
        w.stillAt(0);
        wire.addAndGet(17); // a keep-alive, or bytes either way
        assertFalse(w.stillAt(50 * S));
        assertFalse(w.stillAt(100 * S));
        w.done(4 << 20); // the sender read more of the source, sending nothing (unchanged blocks)
        assertFalse(w.stillAt(150 * S));
        assertFalse(w.stillAt(209 * S));
        assertTrue(w.stillAt(210 * S));
    }

    @Test
    void noChannelYetAndNoTimeoutAreNeverStalls() {
        StallWatchdog connecting = new StallWatchdog(Progress.NONE, Duration.ofSeconds(60), () -> -1);
        connecting.stillAt(0);
        assertFalse(connecting.stillAt(3600 * S), "connecting has its own timeout");
        StallWatchdog never = new StallWatchdog(Progress.NONE, Duration.ZERO, wire::get);
        never.stillAt(0);
        assertFalse(never.stillAt(86_400 * S));
    }
}
