package dev.standin.agent.sync;

import dev.standin.delta.DeltaOp;
import dev.standin.delta.MatchStats;
import dev.standin.delta.SegmentDelta;
import dev.standin.delta.Signatures;
import dev.standin.snapshot.ChangedExtents;
import java.util.List;

/**
 * The source segments known to equal the replica, so that the scan need not read them: their
 * delta is "same", and their digest leaves and weak sums are the replica's. Two things can prove a
 * segment unchanged: change tracking (no changed extent touches it; valid only when the signature
 * cache describes the replica the changes are relative to, which {@link TrackedScan} checks), or
 * the source's own block hashes, taken while the replica was read for the basis
 * ({@link SourceHashes}), all equal to the replica's.
 */
final class UnchangedSegments implements SegmentPipeline.Unread<SegmentDelta> {

    /** Whether {@code [offset, offset + length)} of the source equals the replica there. */
    @FunctionalInterface
    private interface Proof {
        boolean unchanged(long offset, int length);
    }

    private final Proof proof;
    private final Signatures replica;
    private final int blockSize;

    private UnchangedSegments(Proof proof, Signatures replica) {
        this.proof = proof;
        this.replica = replica;
        this.blockSize = replica.blockSize();
    }

    /** Segments no extent of {@code changes} touches. */
    static UnchangedSegments trackedBy(ChangedExtents changes, Signatures replica) {
        return new UnchangedSegments((offset, length) -> !changes.touches(offset, length), replica);
    }

    /**
     * Segments whose every block has the same length and strong hash in the source
     * ({@code sourceLeaves}, of a {@code sourceLength}-byte source) as in the replica.
     */
    static UnchangedSegments hashedAs(long[] sourceLeaves, long sourceLength, Signatures replica) {
        int blockSize = replica.blockSize();
        return new UnchangedSegments((offset, length) -> {
            int first = Math.toIntExact(offset / blockSize);
            int blocks = (length + blockSize - 1) / blockSize;
            for (int i = first; i < first + blocks; i++) {
                if (i >= replica.blockCount()
                        || Math.min(blockSize, sourceLength - (long) i * blockSize) != replica.blockLength(i)
                        || sourceLeaves[i] != replica.strong(i)) {
                    return false;
                }
            }
            return true;
        }, replica);
    }

    @Override
    public boolean covers(long offset, int length) {
        return proof.unchanged(offset, length);
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
