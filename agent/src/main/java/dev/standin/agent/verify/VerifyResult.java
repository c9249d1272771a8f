package dev.standin.agent.verify;

import dev.standin.agent.sync.SyncStats;

/**
 * The outcome of {@code standin verify}: the scrub, and with {@code --against} the sync that
 * repaired the replica from the source.
 *
 * @param status {@code clean} (the replica is what its record says, or after a repair nothing had
 *     to be rewritten), {@code drift} (blocks differ from the record; nothing was repaired),
 *     {@code unverifiable} (no usable record and no source to compare with), or {@code repaired}
 * @param repair the repairing sync's statistics, or null without {@code --against}
 */
public record VerifyResult(String status, ScrubReport scrub, SyncStats repair) {

    public static VerifyResult of(ScrubReport scrub) {
        String status = !scrub.compared() ? "unverifiable" : scrub.blocksDrifted() == 0 ? "clean" : "drift";
        return new VerifyResult(status, scrub, null);
    }

    public static VerifyResult repaired(ScrubReport scrub, SyncStats repair) {
        long rewritten = repair.blocksChanged() + repair.blocksMoved() + repair.blocksZero();
        return new VerifyResult(rewritten == 0 && !repair.firstCopy() ? "clean" : "repaired", scrub, repair);
    }

    /** Clean or repaired: the replica now holds what it should. */
    public boolean replicaGood() {
        return status.equals("clean") || status.equals("repaired");
    }
}
