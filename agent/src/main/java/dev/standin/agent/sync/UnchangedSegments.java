package dev.standin.agent.sync;

import dev.standin.delta.DeltaOp;
import dev.standin.delta.MatchStats;
import dev.standin.delta.SegmentDelta;
import dev.standin.delta.Signatures;
import dev.standin.snapshot.ChangedExtents;
import java.util.List;

/**
 * The source segments change tracking vouches for: no changed extent touches them, so they equal
 * the replica, whose block hashes are in the signature cache. Their delta is "same", their digest
 * leaves and weak sums are the cached ones, and they are never read. Valid only when the cache describes the
 * replica the changes are relative to, which TrackedScan checks before using this.
 */
final class UnchangedSegments implements SegmentPipeline.Unread<SegmentDelta> {

    private final ChangedExtents changes;
    private final Signatures replica;
    private final int blockSize;

    UnchangedSegments(ChangedExtents changes, Signatures replica, int blockSize) {
        this.changes = changes;
        this.replica = replica;
        this.blockSize = blockSize;
    }

    @Override
    public boolean covers(long offset, int length) {
        return !changes.touches(offset, length);
    }

    @Override
    public SegmentDelta result(long offset, int length) {
        int first = Math.toIntExact(offset / blockSize);
        int blocks = (length + blockSize - 1) / blockSize;
        long[] leaves = new long[blocks];
        int[] weaks = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            leaves[i] = replica.strong(first + i);
            weaks[i] = replica.weak(first + i);
        }
        return new SegmentDelta(offset, length, List.of(new DeltaOp.Same(offset, length)), leaves, weaks,
                new MatchStats(blocks, 0, 0, 0, 0));
    }
}
