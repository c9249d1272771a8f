package dev.standin.agent.failover;

import java.time.Duration;
import java.util.Optional;

/**
 * The boot check's rule, apart from the watching: what has been seen of the VM so far gives a
 * verdict or says to keep watching. No I/O and no clock: the caller passes the times.
 */
public final class BootRule {

    /**
     * What the watch saw up to now.
     *
     * @param failure the first sign of failure (a panic, an I/O error, the guest gone), if any
     * @param agent the guest agent's description of the operating system, once it answered
     * @param promptAfter how long after the start the console showed the login prompt, if it did
     * @param elapsed time since the VM was started
     */
    public record Seen(Optional<String> failure, Optional<String> agent, Optional<Duration> promptAfter,
            Duration elapsed) { }

    /** A verdict and why, in words. */
    public record Decision(BootVerdict verdict, String reason) { }

    /** A guest agent usually starts within seconds of the login prompt (systemd starts both). */
    public static final Duration AGENT_GRACE = Duration.ofSeconds(20);

    private final Duration timeout;
    private final Duration agentGrace;

    /**
     * {@code timeout}: how long a VM may take to show a prompt or answer; {@code agentGrace}: how
     * long after the prompt an agent may still come up before the verdict settles on heuristic.
     */
    public BootRule(Duration timeout, Duration agentGrace) {
        this.timeout = timeout;
        this.agentGrace = agentGrace;
    }

    public Duration timeout() {
        return timeout;
    }

    public Optional<Decision> decide(Seen seen) {
        if (seen.failure().isPresent()) {
            return Optional.of(new Decision(BootVerdict.FAILED, seen.failure().get()));
        }
        if (seen.agent().isPresent()) {
            return Optional.of(new Decision(BootVerdict.VERIFIED, "the guest agent answers: " + seen.agent().get()));
        }
        if (seen.promptAfter().isPresent()) {
            Duration prompt = seen.promptAfter().get();
            if (seen.elapsed().compareTo(prompt.plus(agentGrace)) >= 0 || seen.elapsed().compareTo(timeout) >= 0) {
                return Optional.of(new Decision(BootVerdict.HEURISTIC, "the console reached a login prompt after "
                        + prompt.toSeconds() + " s and nothing failed; no guest agent answered"));
            }
            return Optional.empty();
        }
        if (seen.elapsed().compareTo(timeout) >= 0) {
            return Optional.of(new Decision(BootVerdict.FAILED, "neither a login prompt nor a guest agent in "
                    + timeout.toSeconds() + " s"));
        }
        return Optional.empty();
    }
}
