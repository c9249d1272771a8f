package dev.standin.agent.replica;

import dev.standin.delta.Signatures;

/** The basis of a resumed update: the replica's signatures, with the first blocks replaced by the held ones. */
public final class SignatureOverlay {

    private SignatureOverlay() {}

    public static Signatures of(Signatures replica, Signatures held) {
        if (held.length() > replica.length() || held.blockSize() != replica.blockSize()) {
            throw new IllegalArgumentException(held + " does not fit over " + replica);
        }
        Signatures overlay = new Signatures(replica.length(), replica.blockSize());
        for (int i = 0; i < overlay.blockCount(); i++) {
            overlay.copyFrom(i < held.blockCount() ? held : replica, i, i);
        }
        return overlay;
    }
}
