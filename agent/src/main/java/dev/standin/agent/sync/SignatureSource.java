package dev.standin.agent.sync;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Optional;

/**
 * Where a cycle's signatures of the replica came from, as {@code --stats} and {@code --json} name
 * it. The receiver of a cycle over SSH names its own source on the wire; the sender reports it
 * prefixed with {@code receiver-}.
 */
public enum SignatureSource {
    /** A first copy: there is no replica to sign. */
    NONE("none"),
    /** The signature cache beside the replica still described it: nothing was read. */
    CACHE("cache"),
    /** The replica was read. */
    READ("read"),
    /** The replica was read by a scrub ({@code verify --against}), which also compared it with its record. */
    SCRUB("scrub"),
    /** An interrupted first copy's staging file: its held blocks are the basis. */
    PARTIAL("partial"),
    /** An interrupted update's journal over the replica's cached signatures. */
    RESUME("resume"),
    /** Over SSH: this host's cache held the replica's generation; none crossed the wire. */
    SENDER_CACHE("sender-cache"),
    RECEIVER_NONE("receiver-none"),
    RECEIVER_CACHE("receiver-cache"),
    RECEIVER_READ("receiver-read"),
    RECEIVER_SCRUB("receiver-scrub"),
    RECEIVER_PARTIAL("receiver-partial"),
    RECEIVER_RESUME("receiver-resume");

    private final String text;

    SignatureSource(String text) {
        this.text = text;
    }

    /** The name in the stats, and (without the {@code receiver-} prefix) on the wire. */
    @JsonValue
    public String text() {
        return text;
    }

    @Override
    public String toString() {
        return text;
    }

    @JsonCreator
    public static SignatureSource of(String text) {
        return parse(text).orElseThrow(() -> new IllegalArgumentException("unknown signature source '" + text + "'"));
    }

    public static Optional<SignatureSource> parse(String text) {
        for (SignatureSource s : values()) {
            if (s.text.equals(text)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** How the sender names the source a receiver reported on the wire; empty for a name it does not know. */
    public static Optional<SignatureSource> fromReceiver(String wireName) {
        return parse(wireName).filter(SignatureSource::isLocal).flatMap(s -> parse("receiver-" + s.text));
    }

    /** One the receiving side itself can name (what crosses the wire). */
    public boolean isLocal() {
        return ordinal() <= RESUME.ordinal();
    }

    /**
     * The signatures describe the replica exactly as its last cycle committed it, without reading
     * it: the condition for trusting a snapshot's change tracking (see TrackedScan).
     */
    public boolean provesLastCommit() {
        return this == CACHE || this == SENDER_CACHE || this == RECEIVER_CACHE;
    }

    /** The basis is an interrupted first copy's staging file: this cycle is still the first copy. */
    public boolean isFirstCopyStaging() {
        return this == PARTIAL || this == RECEIVER_PARTIAL;
    }
}
