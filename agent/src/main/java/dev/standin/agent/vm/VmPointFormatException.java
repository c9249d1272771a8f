package dev.standin.agent.vm;

import java.io.IOException;

/**
 * A VM point record that cannot be used: damaged (size, magic, checksum or a field out of range)
 * or of a format version this build does not know. Never repaired or deleted on either account.
 */
public final class VmPointFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final boolean otherVersion;

    VmPointFormatException(String message, boolean otherVersion) {
        super(message);
        this.otherVersion = otherVersion;
    }

    /** True if the record is intact but of another format version; false if it is damaged. */
    public boolean otherVersion() {
        return otherVersion;
    }
}
