package dev.standin.agent.sync;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Objects;

/**
 * How a cycle scanned its source, the stats' {@code tracking}: {@code none} (no snapshot hook),
 * a change-tracking method such as {@code dirty-bitmap} (only changed extents were read), or
 * {@code full-scan:REASON} (the hook had tracking, but it was unavailable or not trusted).
 */
public record ScanMethod(Kind kind, String detail) {

    public enum Kind { NONE, TRACKED, FULL_SCAN }

    public static final ScanMethod NONE = new ScanMethod(Kind.NONE, "");

    public ScanMethod {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(detail, "detail");
    }

    /** Only the extents {@code method} named were read. */
    public static ScanMethod tracked(String method) {
        return new ScanMethod(Kind.TRACKED, method);
    }

    public static ScanMethod fullScan(String reason) {
        return new ScanMethod(Kind.FULL_SCAN, reason);
    }

    @JsonValue
    @Override
    public String toString() {
        return switch (kind) {
            case NONE -> "none";
            case TRACKED -> detail;
            case FULL_SCAN -> "full-scan:" + detail;
        };
    }

    @JsonCreator
    public static ScanMethod parse(String text) {
        if (text.equals("none")) {
            return NONE;
        }
        return text.startsWith("full-scan:") ? fullScan(text.substring("full-scan:".length())) : tracked(text);
    }
}
