package dev.standin.agent.failover;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What a boot check concluded about a started VM. */
public enum BootVerdict {
    /** The QEMU guest agent in the VM answered: its operating system is up. */
    VERIFIED,
    /** No guest agent answered, but the console reached a login prompt and nothing failed. */
    HEURISTIC,
    /** A kernel panic, an I/O error, a power-off, or neither a prompt nor an agent in time. */
    FAILED;

    @JsonValue
    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }
}
