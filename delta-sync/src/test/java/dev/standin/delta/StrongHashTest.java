package dev.standin.delta;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class StrongHashTest {

    /** Reference values from xxhsum 0.8 (`printf standin | xxhsum -H1`). */
    @Test
    void matchesXxhsumOnHeapAndDirectBuffers() {
        byte[] word = "standin".getBytes(StandardCharsets.US_ASCII);
        assertEquals("681e11bc7564d660", hex(StrongHash.of(word, 0, word.length)));
        ByteBuffer direct = ByteBuffer.allocateDirect(16).put(2, word);
        assertEquals("681e11bc7564d660", hex(StrongHash.of(direct, 2, word.length)));
        assertEquals("ac869b6f32d8bbdb", hex(StrongHash.of(new byte[4096], 0, 4096)));
    }

    @Test
    void zeroBlockHashIsTheHashOfZeros() {
        assertEquals(StrongHash.of(new byte[8192], 0, 8192), ZeroBlocks.hash(8192));
    }

    private static String hex(long h) {
        return String.format("%016x", h);
    }
}
