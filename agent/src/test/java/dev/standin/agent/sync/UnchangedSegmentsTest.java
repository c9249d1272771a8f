package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.delta.DeltaOp;
import dev.standin.delta.SegmentDelta;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import dev.standin.delta.StrongHash;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Which segments a seeding cycle's source hashes prove unchanged, without I/O. */
class UnchangedSegmentsTest {

    private static final int BLOCK = 4096;
    private static final int SEGMENT = 4 * BLOCK;

    private static byte[] random(int n, long seed) {
        byte[] bytes = new byte[n];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }

    private static long[] leaves(byte[] image) {
        long[] leaves = new long[(image.length + BLOCK - 1) / BLOCK];
        for (int i = 0; i < leaves.length; i++) {
            leaves[i] = StrongHash.of(image, i * BLOCK, Math.min(BLOCK, image.length - i * BLOCK));
        }
        return leaves;
    }

    @Test
    void segmentsWhoseEveryBlockHashesAlikeAreUnchangedAndNoOthers() {
        byte[] replica = random(3 * SEGMENT, 1);
        byte[] source = replica.clone();
        source[SEGMENT + 5 * 1000] ^= 1; // one byte in the second segment
        Signatures basis = SignatureBuilder.of(ByteBuffer.wrap(replica), BLOCK);
        UnchangedSegments unchanged = UnchangedSegments.hashedAs(leaves(source), source.length, basis);
        assertTrue(unchanged.covers(0, SEGMENT));
        assertFalse(unchanged.covers(SEGMENT, SEGMENT));
        assertTrue(unchanged.covers(2 * SEGMENT, SEGMENT));
        SegmentDelta same = unchanged.result(2 * SEGMENT, SEGMENT);
        assertEquals(List.of(new DeltaOp.Same(2 * SEGMENT, SEGMENT)), same.ops());
        assertEquals(basis.strong(8), same.leaves()[0], "the replica's leaves, equal to the source's");
        assertEquals(basis.weak(11), same.weaks()[3]);
        assertEquals(4, same.stats().blocksSame());
    }

    @Test
    void aLastBlockOfAnotherLengthOrBeyondTheReplicaIsNeverUnchanged() {
        byte[] replica = random(2 * SEGMENT + 100, 2);
        Signatures basis = SignatureBuilder.of(ByteBuffer.wrap(replica), BLOCK);
        byte[] longer = java.util.Arrays.copyOf(replica, 2 * SEGMENT + 200); // the same 100 bytes, then zeros
        UnchangedSegments grown = UnchangedSegments.hashedAs(leaves(longer), longer.length, basis);
        assertTrue(grown.covers(SEGMENT, SEGMENT));
        assertFalse(grown.covers(2 * SEGMENT, 200), "a 200-byte last block against a 100-byte one");
        byte[] twice = java.util.Arrays.copyOf(replica, 3 * SEGMENT);
        UnchangedSegments beyond = UnchangedSegments.hashedAs(leaves(twice), twice.length, basis);
        assertFalse(beyond.covers(2 * SEGMENT, SEGMENT), "blocks the replica does not have");
        UnchangedSegments itself = UnchangedSegments.hashedAs(leaves(replica), replica.length, basis);
        assertTrue(itself.covers(2 * SEGMENT, 100), "the same short last block");
    }
}
