package dev.standin.agent.replica;

import java.io.IOException;

/**
 * A point index or undo file that cannot be used as it is: damaged (a checksum does not match, a
 * record is torn) or written by a version of standin this build does not know. Nothing is
 * repaired or deleted on either account: the operator decides.
 */
public final class PointFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final boolean otherVersion;

    PointFormatException(String message, boolean otherVersion) {
        super(message);
        this.otherVersion = otherVersion;
    }

    /** True if the data is intact but of another format version; false if it is damaged. */
    public boolean otherVersion() {
        return otherVersion;
    }
}
