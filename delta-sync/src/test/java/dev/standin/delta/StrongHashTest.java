package dev.standin.delta;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class StrongHashTest {

    /** Reference values from xxhsum 0.8 (`printf standin | xxhsum -H2`). */
    @Test
    void matchesXxhsumOnHeapAndDirectBuffers() {
        byte[] word = "standin".getBytes(StandardCharsets.US_ASCII);
        StrongHash heap = new StrongHash().hash(word, 0, word.length);
        assertEquals("d78c894e5a8d3bdeb13beb46efb33bf5", hex(heap));
        ByteBuffer direct = ByteBuffer.allocateDirect(16).put(2, word);
        assertEquals("d78c894e5a8d3bdeb13beb46efb33bf5", hex(new StrongHash().hash(direct, 2, word.length)));
        assertEquals("3ee8dc4f9e7ee49593d76fe148c689ba", hex(new StrongHash().hash(new byte[4096], 0, 4096)));
    }

    @Test
    void zeroBlockHashIsCached() {
        StrongHash h = new StrongHash().hash(new byte[8192], 0, 8192);
        assertEquals(h.hi(), ZeroBlocks.hashHi(8192));
        assertEquals(h.lo(), ZeroBlocks.hashLo(8192));
    }

    private static String hex(StrongHash h) {
        return String.format("%016x%016x", h.hi(), h.lo());
    }
}
