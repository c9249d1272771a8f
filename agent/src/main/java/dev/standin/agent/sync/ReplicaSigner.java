package dev.standin.agent.sync;

import dev.standin.agent.image.DiskImage;
import dev.standin.delta.Signatures;

/**
 * Computes the replica's signatures for a cycle in place of {@link LocalDestination}'s own read of it.
 * {@code standin verify --against} plugs its scrub in here: the replica is then read once, inside
 * the cycle's destination lock and after journal recovery, compared with its record on the way,
 * and the sync repairs every block that differs from the source. A signer is never asked for a
 * first copy, and the signature cache is not consulted when one is given.
 */
@FunctionalInterface
public interface ReplicaSigner {

    /** What a signer returns: the signatures and the bytes it read to get them. */
    record Signed(Signatures signatures, long bytesRead) {}

    /**
     * Signs the first {@code length} bytes of {@code replica} in blocks of {@code blockSize}, with
     * {@code pipeline} (the cycle's threads and I/O priority).
     */
    Signed sign(SegmentPipeline pipeline, DiskImage replica, long length, int blockSize) throws Exception;
}
