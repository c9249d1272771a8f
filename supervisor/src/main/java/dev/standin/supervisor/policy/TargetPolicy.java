package dev.standin.supervisor.policy;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What a target's schedule and health are judged by.
 *
 * @param cadence when its cycles start
 * @param rpo the age its newest point should stay under
 * @param criticalAfter health is critical once the newest point is this many RPOs old
 * @param window cycles only start inside it
 * @param verify how often its replica is scrubbed
 * @param bootCheck how often its newest VM point is started on the replica host to check that it boots
 */
public record TargetPolicy(Cadence cadence, Duration rpo, double criticalAfter, Optional<Window> window,
        Optional<Duration> verify, Optional<Duration> bootCheck) {

    public TargetPolicy {
        Objects.requireNonNull(cadence);
        Objects.requireNonNull(rpo);
        Objects.requireNonNull(window);
        Objects.requireNonNull(verify);
        Objects.requireNonNull(bootCheck);
    }

    public TargetPolicy(Cadence cadence, Duration rpo, double criticalAfter, Optional<Window> window,
            Optional<Duration> verify) {
        this(cadence, rpo, criticalAfter, window, verify, Optional.empty());
    }
}
