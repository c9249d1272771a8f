package dev.standin.supervisor.policy;

import java.util.Objects;

/**
 * What a boot check of a target's newest VM point concluded (docs/failover.md).
 *
 * @param verdict {@code verified}, {@code heuristic} or {@code failed}
 * @param vmPoint the VM point it started
 * @param reason the verdict in words
 */
public record BootOutcome(String verdict, long vmPoint, String reason) {

    public BootOutcome {
        Objects.requireNonNull(verdict);
        Objects.requireNonNull(reason);
    }

    public boolean failed() {
        return verdict.equals("failed");
    }
}
