package dev.standin.failure;

/**
 * The root of standin's failures. Each carries the exit status the command line reports and says
 * whether retrying the same operation could succeed (the supervisor reads {@link #isPermanent()}).
 */
public class StandinException extends Exception {

    private static final long serialVersionUID = 1L;

    private final ExitStatus status;
    private final boolean permanent;

    public StandinException(ExitStatus status, String message) {
        super(message);
        this.status = status;
        this.permanent = status.permanent();
    }

    public StandinException(ExitStatus status, String message, Throwable cause) {
        this(status, message, cause, status.permanent());
    }

    /**
     * A failure whose permanence its cause knows better than its status does: a snapshot hook
     * that found no such VM (permanent) and one whose command timed out (not) are both exit 7.
     */
    public StandinException(ExitStatus status, String message, Throwable cause, boolean permanent) {
        super(message, cause);
        this.status = status;
        this.permanent = permanent;
    }

    public ExitStatus status() {
        return status;
    }

    /** True if running the same cycle again, unchanged, cannot succeed: the supervisor does not retry it. */
    public boolean isPermanent() {
        return permanent;
    }
}
