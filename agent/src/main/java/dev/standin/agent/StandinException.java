package dev.standin.agent;

/**
 * The root of standin's failures. Each carries the exit status the command line reports and says
 * whether retrying the same operation could succeed (the supervisor reads {@link #isPermanent()}).
 */
public class StandinException extends Exception {

    private static final long serialVersionUID = 1L;

    private final ExitStatus status;

    public StandinException(ExitStatus status, String message) {
        super(message);
        this.status = status;
    }

    public StandinException(ExitStatus status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public ExitStatus status() {
        return status;
    }

    public boolean isPermanent() {
        return status.permanent();
    }
}
