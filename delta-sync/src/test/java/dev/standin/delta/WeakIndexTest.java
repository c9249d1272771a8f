package dev.standin.delta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WeakIndexTest {

    private static final int B = 4096;

    /** Signatures with random sums, as a large image would have, without hashing one. */
    private static Signatures randomSignatures(int blocks, long seed) {
        Signatures s = new Signatures((long) blocks * B, B);
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < blocks; i++) {
            s.set(i, random.nextInt(), random.nextLong());
        }
        return s;
    }

    @Test
    void everyIndexedSumIsFoundAndLeadsToItsBlock() {
        Signatures s = randomSignatures(200_000, 1);
        WeakIndex index = WeakIndex.of(s);
        for (int i = 0; i < s.blockCount(); i++) {
            int weak = s.weak(i);
            assertTrue(index.mayContain(weak), "block " + i + " filtered out");
            boolean found = false;
            for (int c = index.firstCandidate(weak); c >= 0; c = index.nextCandidate(c, weak)) {
                assertEquals(weak, s.weak(c));
                found |= c == i;
            }
            assertTrue(found, "block " + i + " not on its chain");
        }
    }

    @Test
    void absentSumsAreRarelyMaybe() {
        Signatures s = randomSignatures(1 << 20, 2);
        WeakIndex index = WeakIndex.of(s);
        SplittableRandom random = new SplittableRandom(3);
        int maybe = 0;
        int probes = 2_000_000;
        for (int i = 0; i < probes; i++) {
            maybe += index.mayContain(random.nextInt()) ? 1 : 0;
        }
        // Three bits in one word of a filter with ~32 bits per block: ~0.1 %; one bit gave 2.4 %.
        assertTrue(maybe < probes / 200, maybe + " of " + probes + " absent sums passed the filter");
    }

    @Test
    void identicalBlocksAreIndexedOnceAndCollidingChainsAreCapped() {
        int blocks = 1000;
        Signatures s = new Signatures((long) blocks * B, B);
        for (int i = 0; i < blocks; i++) {
            // Same weak sum everywhere; strong sums repeat every 100 blocks.
            s.set(i, 12345, i % 100);
        }
        WeakIndex index = WeakIndex.of(s);
        int chain = 0;
        for (int c = index.firstCandidate(12345); c >= 0; c = index.nextCandidate(c, 12345)) {
            chain++;
        }
        assertEquals(WeakIndex.MAX_CHAIN, chain);
    }
}
