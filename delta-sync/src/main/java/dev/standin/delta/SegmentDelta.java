package dev.standin.delta;

import java.util.List;

/**
 * The delta for one segment of the source: ops covering {@code [offset, offset + length)} in order,
 * and the strong hash of every source block in the segment ({@code leaves} of the image digest).
 * {@code weaks} holds every block's weak sum when the matcher was asked to sign the target
 * ({@link SegmentMatcher#signingTarget}), else it is null: with both, the sender knows the
 * replica's signatures after the cycle without being told them. Literal ops view the segment's
 * buffer: consume them before that buffer is reused.
 */
public record SegmentDelta(long offset, int length, List<DeltaOp> ops, long[] leaves, int[] weaks, MatchStats stats) {

    /** A delta without weak sums. */
    public SegmentDelta(long offset, int length, List<DeltaOp> ops, long[] leaves, MatchStats stats) {
        this(offset, length, ops, leaves, null, stats);
    }
}
