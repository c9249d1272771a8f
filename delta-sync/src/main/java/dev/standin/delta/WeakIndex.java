package dev.standin.delta;

import java.util.Arrays;

/**
 * Finds basis blocks by weak checksum: an open hash table of chain heads with the chains threaded
 * through an int array, plus a 32-bit-per-block filter: a million blocks cost 16 MiB and no objects.
 *
 * <p>A blocked Bloom filter in front of the table keeps the common case, a weak sum that no block
 * has, to one memory read.
 *
 * <p>Two bounds keep disk images from making the search quadratic. Identical blocks (same weak and
 * strong sum) are stored once. And a chain holds at most {@link #MAX_CHAIN} entries: weak
 * collisions between different blocks are common in images (filled patterns, text, repeated
 * structures), and an uncapped chain is walked at every byte of a rolling search. With the cap a
 * search over an image of one repeated pattern costs at most MAX_CHAIN strong compares per byte
 * position rather than one per block of the image; the price is that a moved block beyond the
 * cap is sent as literal data.
 */
public final class WeakIndex {

    public static final int MAX_CHAIN = 16;
    private static final int NONE = -1;

    private final Signatures basis;
    private final int[] heads;
    private final int[] next;
    private final int shift;
    private final long[] filter;
    private final int filterShift;

    private WeakIndex(Signatures basis) {
        this.basis = basis;
        int count = basis.blockCount();
        int size = Integer.highestOneBit(Math.max(16, count) * 2 - 1) << 1;
        this.heads = new int[size];
        this.next = new int[count];
        this.shift = 64 - Integer.numberOfTrailingZeros(size);
        Arrays.fill(heads, NONE);
        int filterBits = Integer.highestOneBit((int) Math.max(1 << 16, Math.min(1 << 28, count * 32L - 1))) << 1;
        this.filter = new long[filterBits >>> 6];
        this.filterShift = 64 - Integer.numberOfTrailingZeros(filterBits >>> 6);
    }

    /** Indexes every full-length, non-zero block of {@code basis}. */
    public static WeakIndex of(Signatures basis) {
        WeakIndex index = new WeakIndex(basis);
        int full = basis.blockSize();
        for (int i = 0; i < basis.blockCount(); i++) {
            if (basis.blockLength(i) == full && !basis.isZeroBlock(i)) {
                index.add(i);
            }
        }
        return index;
    }

    private void add(int block) {
        int weak = basis.weak(block);
        int slot = slot(weak);
        int length = 0;
        for (int c = heads[slot]; c != NONE; c = next[c]) {
            if (basis.weak(c) == weak) {
                if (basis.strong(c) == basis.strong(block)) {
                    return;
                }
                if (++length >= MAX_CHAIN) {
                    return;
                }
            }
        }
        next[block] = heads[slot];
        heads[slot] = block;
        filter[filterWord(weak)] |= filterMask(weak);
    }

    /** The first candidate block with this weak sum, or -1. Continue with {@link #nextCandidate}. */
    public int firstCandidate(int weak) {
        return skipTo(heads[slot(weak)], weak);
    }

    public int nextCandidate(int block, int weak) {
        return skipTo(next[block], weak);
    }

    /**
     * True if some block may have this weak sum. A rolling search asks at every byte of a changed
     * block, and nearly always for a sum that is absent. Each "maybe" costs a chain walk through
     * tables too large for the cache (heads, sums and links: 16 MiB for a million blocks), measured
     * here at ~570 ns. A single bit per sum (32 bits per block) said "maybe" for 2.4 % of absent
     * sums, so the walks cost 14 of the search's 21 ns per byte; three bits in one 64-bit word
     * ("maybe" for 0.15 % of the windows of changed data against a million blocks, a third of them
     * true weak matches) cost the same single memory read and leave the walks at under a
     * nanosecond per byte.
     */
    public boolean mayContain(int weak) {
        long mask = filterMask(weak);
        return (filter[filterWord(weak)] & mask) == mask;
    }

    private int filterWord(int weak) {
        return (int) ((weak * 0xC2B2AE3D27D4EB4FL) >>> filterShift);
    }

    /** Three bits from the well-mixed top of a second product; a shift by n uses n mod 64. */
    private static long filterMask(int weak) {
        long h = weak * 0x165667B19E3779F9L;
        return 1L << (h >>> 58) | 1L << (h >>> 52) | 1L << (h >>> 46);
    }

    private int skipTo(int c, int weak) {
        while (c != NONE && basis.weak(c) != weak) {
            c = next[c];
        }
        return c;
    }

    private int slot(int weak) {
        // Fibonacci hashing spreads rsync sums, whose low bits cluster on text and patterns.
        return (int) ((weak * 0x9E3779B97F4A7C15L) >>> shift);
    }
}
