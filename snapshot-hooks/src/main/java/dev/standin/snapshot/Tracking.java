package dev.standin.snapshot;

import java.util.Objects;
import java.util.Optional;

/**
 * What a snapshot knows about changes since the last replicated view. {@code method} names where
 * the extents came from ({@code dirty-bitmap}, {@code thin-delta}); when there are none,
 * {@code reason} says why, in words for the cycle's stats ("no record of a replicated view for this
 * destination", "bitmap standin-... is missing: the VM was restarted").
 */
public record Tracking(Optional<ChangedExtents> changes, String method, String reason, String replicaDigest) {

    public Tracking {
        Objects.requireNonNull(changes, "changes");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(replicaDigest, "replicaDigest");
    }

    /** Changes since the view whose replica had image digest {@code replicaDigest}. */
    public static Tracking tracked(String method, ChangedExtents changes, String replicaDigest) {
        return new Tracking(Optional.of(changes), method, "", replicaDigest);
    }

    public static Tracking untracked(String reason) {
        return new Tracking(Optional.empty(), "none", reason, "");
    }

    /** {@code dirty-bitmap}, or {@code full-scan:REASON}, as the stats print it. */
    public String describe() {
        return changes.isPresent() ? method : "full-scan:" + reason;
    }
}
