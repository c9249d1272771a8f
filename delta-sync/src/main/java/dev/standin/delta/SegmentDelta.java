package dev.standin.delta;

import java.util.List;

/**
 * The delta for one segment of the source: ops covering {@code [offset, offset + length)} in order,
 * and the strong hash of every source block in the segment ({@code leaves} of the image digest).
 * Literal ops view the segment's buffer: consume them before that buffer is reused.
 */
public record SegmentDelta(long offset, int length, List<DeltaOp> ops, long[] leaves, MatchStats stats) {}
