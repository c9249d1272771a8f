package dev.standin.agent.sync;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.standin.agent.replica.Journal;
import java.util.Locale;
import java.util.Optional;

/**
 * What a cycle found left by an interrupted one, as the stats name it: {@code none}, a journal
 * {@code replayed} (its commit record was written) or {@code discarded} (it was not), one
 * {@code held} for resuming, or {@code resumed} (this cycle continued it).
 */
public enum CycleRecovery {
    NONE, DISCARDED, REPLAYED, HELD, RESUMED;

    public static CycleRecovery of(Journal.Recovery recovery) {
        return switch (recovery) {
            case NONE -> NONE;
            case DISCARDED -> DISCARDED;
            case REPLAYED -> REPLAYED;
            case HELD -> HELD;
        };
    }

    @JsonValue
    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return text();
    }

    @JsonCreator
    public static CycleRecovery of(String text) {
        return parse(text).orElseThrow(() -> new IllegalArgumentException("unknown recovery '" + text + "'"));
    }

    public static Optional<CycleRecovery> parse(String text) {
        for (CycleRecovery r : values()) {
            if (r.text().equals(text)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }
}
