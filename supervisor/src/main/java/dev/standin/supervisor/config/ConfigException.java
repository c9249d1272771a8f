package dev.standin.supervisor.config;

/**
 * A configuration file that cannot be used, with where and why: {@code FILE:LINE: reason}, the
 * way compilers and systemd-analyze point at a mistake. Line 0: the file as a whole.
 */
public final class ConfigException extends Exception {

    private final String file;
    private final int line;
    private final String reason;

    public ConfigException(String file, int line, String reason) {
        super(file + (line > 0 ? ":" + line : "") + ": " + reason);
        this.file = file;
        this.line = line;
        this.reason = reason;
    }

    public String file() {
        return file;
    }

    public int line() {
        return line;
    }

    public String reason() {
        return reason;
    }
}
