package dev.standin.supervisor.policy;

/** How a cycle ended, as far as retrying goes. */
public enum Outcome {
    /** Committed (or, for a scrub, found the replica as recorded or repaired it). */
    OK,
    /** Failed for a reason that may pass (network cut, sshd down, lock held): retried with backoff. */
    TRANSIENT,
    /** Failed for a reason a retry cannot fix (a changed or unknown host key, a refused key, a full disk): slow retries only. */
    PERMANENT;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
