package dev.standin.failure;

/** The named exit statuses of the standin command, listed under EXIT STATUS in its help. */
public enum ExitStatus {
    OK(0, "success", true),
    ERROR(1, "unexpected internal error", false),
    USAGE(2, "bad command line or option value", true),
    SOURCE(3, "source missing, unreadable, or changed size during the cycle", false),
    DESTINATION(4, "destination cannot be written (permissions, no space, I/O error), or the replica that verify, "
            + "points or restore reads is missing", false),
    PROTOCOL(5, "malformed, truncated or corrupt delta stream, or a journal of another version", true),
    VERIFY(6, "the written replica's digest differs from the source's; nothing was committed (sync), or the replica "
            + "drifted from its record or has none to compare with (verify)", false),
    SNAPSHOT(7, "the --snapshot hook could not make or release a point-in-time view", false),
    AGENT(8, "no agent with a configuration answers (status, run, pause, resume, reload, history), or the "
            + "configuration names no such VM or target", true),
    MISSING(9, "something the configuration uses is missing on this host or unreachable (doctor)", false),
    BOOT(10, "the failed-over VM did not boot: a kernel panic, an I/O error, a power-off, or no sign of life in time "
            + "(failover)", false),
    INTERRUPTED(130, "interrupted; the replica is left at its previous recovery point", false);

    private final int code;
    private final String meaning;
    private final boolean permanent;

    ExitStatus(int code, String meaning, boolean permanent) {
        this.code = code;
        this.meaning = meaning;
        this.permanent = permanent;
    }

    public int code() {
        return code;
    }

    public String meaning() {
        return meaning;
    }

    /** The status with this code; ERROR for a code standin does not define (from a newer peer). */
    public static ExitStatus of(int code) {
        for (ExitStatus s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return ERROR;
    }

    /** True if running the same command again, unchanged, cannot succeed. */
    public boolean permanent() {
        return permanent;
    }
}
