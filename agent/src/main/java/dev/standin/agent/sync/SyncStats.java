package dev.standin.agent.sync;

/**
 * What a sync did, as printed by {@code --stats} and {@code --json}. Block counts are of source
 * blocks: same (unchanged in place), moved (found elsewhere in the replica), zero (became zero),
 * changed (sent as literal data). {@code signatures} says where the replica's block signatures came
 * from: {@code none} (first copy), {@code cache} (kept from the last cycle, the replica was not
 * read), {@code read} (the replica was read) or {@code scrub} (read by {@code standin verify --against}).
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
        String signatures,
        long literalBytes,
        long wireBytes,
        String compression,
        boolean firstCopy,
        boolean dryRun,
        String recovery,
        String digest,
        double seconds) {}
