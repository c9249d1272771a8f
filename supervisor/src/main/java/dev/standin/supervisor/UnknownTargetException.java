package dev.standin.supervisor;

/** A command named a VM or target that the configuration in force does not have. */
public final class UnknownTargetException extends Exception {
    public UnknownTargetException(String message) {
        super(message);
    }
}
