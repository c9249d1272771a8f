package dev.standin.agent.sync;

/**
 * What a sync did, as printed by {@code --stats} and {@code --json}. Block counts are of source
 * blocks: same (unchanged in place), moved (found elsewhere in the replica), zero (became zero),
 * changed (sent as literal data). {@code signatures} says where the replica's block signatures came
 * from ({@link SignatureSource}), {@code recovery} what an interrupted cycle had left
 * ({@link CycleRecovery}), {@code tracking} how the source was scanned ({@link ScanMethod}); in
 * JSON each is the string its type names.
 * {@code pointsDropped} lists the recovery points the cycle dropped (in a dry run: would drop)
 * because the replica no longer held its newest point (docs/points-format.md, "A replica changed
 * outside standin"). {@code point} is the recovery point the cycle committed (0: none, as in a
 * dry run or with {@code --keep-points 0}).
 */
public record SyncStats(
        String source,
        String destination,
        long sourceBytes,
        int blockSize,
        long blocks,
        long blocksSame,
        long blocksMoved,
        long blocksZero,
        long blocksChanged,
        long bytesRead,
        long sourceBytesRead,
        long replicaBytesRead,
        SignatureSource signatures,
        long literalBytes,
        long wireBytes,
        String compression,
        boolean firstCopy,
        boolean dryRun,
        CycleRecovery recovery,
        String digest,
        ScanMethod tracking,
        double seconds,
        long point,
        java.util.List<Long> pointsDropped) {

    public SyncStats {
        pointsDropped = java.util.List.copyOf(pointsDropped);
    }

    /** {@code digest} is this, not a SHA-256 of the image: named in the JSON so nobody compares it with sha256sum. */
    @com.fasterxml.jackson.annotation.JsonProperty("digestAlgorithm")
    public String digestAlgorithm() {
        return dev.standin.delta.ImageDigest.NAME;
    }
}
