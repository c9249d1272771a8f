package dev.standin.delta;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Matches one segment of the source against the basis signatures and returns the ops that rebuild
 * it. Segments start on block boundaries and are matched independently, so several threads can
 * match consecutive segments at once; the price is that a match never straddles two segments.
 *
 * <p>Order of tests at a block boundary, cheapest first for disk images, where most blocks are
 * unchanged in place:
 * <ol>
 *   <li>all zero: a zero op (or same, if the basis block is zero too);
 *   <li>the basis block at the same index has the same strong hash: same;
 *   <li>otherwise a rolling search, at every sector or every byte ({@link MoveSearch}): at each
 *       position the weak sum is looked up in the {@link WeakIndex} and candidates are confirmed
 *       by strong hash (copy); bytes that start no match become literal data. The search returns
 *       to step 1 whenever it reaches the next block boundary, so one changed block costs one
 *       block of literal, not a re-alignment.
 * </ol>
 * Instances are not thread-safe; use one per thread.
 */
public final class SegmentMatcher {

    private static final byte SAME = 0;
    private static final byte ZERO = 1;
    private static final byte MOVED = 2;
    private static final byte CHANGED = 3;

    private final Signatures basis;
    private final Supplier<WeakIndex> indexSource;
    private WeakIndex index;
    private final int blockSize;
    private final MoveSearch moves;
    private final int step;
    private final boolean signTarget;

    /** {@code index} may be null only when {@code moves} is {@link MoveSearch#NONE}. */
    public SegmentMatcher(Signatures basis, WeakIndex index, int blockSize, MoveSearch moves) {
        this(basis, index == null ? null : () -> index, blockSize, moves);
    }

    /**
     * As above, with the index asked for only when the first block that is not the same is met:
     * the caller may still be building it (it costs ~40 ms per million blocks, which a scan of
     * unchanged blocks need not wait for).
     */
    public SegmentMatcher(Signatures basis, Supplier<WeakIndex> index, int blockSize, MoveSearch moves) {
        this(basis, index, blockSize, moves, false);
    }

    private SegmentMatcher(Signatures basis, Supplier<WeakIndex> index, int blockSize, MoveSearch moves,
            boolean signTarget) {
        if ((index == null) != (moves == MoveSearch.NONE)) {
            throw new IllegalArgumentException("a move search needs an index, and only a move search: " + moves);
        }
        if (basis.blockCount() > 0 && basis.blockSize() != blockSize) {
            throw new IllegalArgumentException(
                    "basis block size " + basis.blockSize() + " differs from " + blockSize);
        }
        this.basis = basis;
        this.indexSource = index;
        this.blockSize = BlockSize.validate(blockSize);
        this.moves = moves;
        this.step = moves.step();
        this.signTarget = signTarget;
    }

    /**
     * A matcher like this one whose deltas also carry every block's weak sum
     * ({@link SegmentDelta#weaks}): the basis's for blocks that are the same, computed for the
     * others (~1 ms per 4 MiB here, so a first copy of 3.2 GiB costs ~0.8 CPU-s more). The sum of
     * every block is then what the receiver's {@link BlockAssembler} computes for it.
     */
    public SegmentMatcher signingTarget() {
        return new SegmentMatcher(basis, indexSource, blockSize, moves, true);
    }

    /**
     * Matches {@code length} bytes of {@code data} (absolute indexes {@code 0..length}) that sit at
     * {@code offset} in the source. {@code offset} must be a multiple of the block size.
     */
    public SegmentDelta match(long offset, ByteBuffer data, int length) {
        if (offset % blockSize != 0) {
            throw new IllegalArgumentException("segment offset " + offset + " is not on a block boundary");
        }
        if (length <= 0 || length > data.limit()) {
            throw new IllegalArgumentException("segment length " + length + " outside buffer of " + data.limit());
        }
        return new Run(offset, data, length).match();
    }

    /**
     * The delta for a segment known to be all zero without reading it (a hole in a sparse source):
     * same where the basis block is zero too, zero ops elsewhere.
     */
    public SegmentDelta matchZeros(long offset, int length) {
        if (offset % blockSize != 0 || length <= 0) {
            throw new IllegalArgumentException("zero segment [" + offset + ", +" + length + ") is not valid");
        }
        return new Run(offset, ZeroBlocks.zeros(0), length).matchZeros();
    }

    /**
     * Rolls the window at {@code pos} (whose sum is {@code weak}) forward a byte at a time until
     * the index may hold its sum or it reaches {@code last}. Returns the position in the high and
     * the sum in the low 32 bits. Bound by memory, not arithmetic: rolling alone costs ~2 ns a
     * byte, each lookup in the index's filter ~5 ns when the filter is cached and ~20 ns when the
     * scan has streamed it out of the cache, as it has by the time the next changed block comes.
     */
    private static long rollToCandidate(ByteBuffer data, int pos, int last, int weak, int blockSize, WeakIndex index) {
        do {
            weak = RollingChecksum.roll(weak, blockSize, data.get(pos), data.get(pos + blockSize));
            pos++;
        } while (pos < last && !index.mayContain(weak));
        return (long) pos << 32 | (weak & 0xFFFFFFFFL);
    }

    /** The state of one segment's match. */
    private final class Run {
        final long offset;
        final ByteBuffer data;
        final int length;
        final int firstBlock;
        final long[] leaves;
        final int[] weaks;
        final boolean[] hashed;
        final byte[] kind;
        final List<DeltaOp> ops = new ArrayList<>();
        long literalBytes;
        int literalStart = -1;

        Run(long offset, ByteBuffer data, int length) {
            this.offset = offset;
            this.data = data;
            this.length = length;
            this.firstBlock = Math.toIntExact(offset / blockSize);
            int blocks = (length + blockSize - 1) / blockSize;
            this.leaves = new long[blocks];
            this.weaks = signTarget ? new int[blocks] : null;
            this.hashed = new boolean[blocks];
            this.kind = new byte[blocks];
        }

        SegmentDelta match() {
            int pos = 0;
            while (pos < length) {
                if (pos % blockSize == 0) {
                    pos = matchAligned(pos);
                } else if (pos + blockSize <= length) {
                    // After a match at an unaligned position (data that moved by a few bytes).
                    pos = rollingSearch(pos, false, 0);
                } else {
                    startLiteral(pos);
                    pos = Math.min(length, (pos + blockSize - 1) / blockSize * blockSize);
                }
            }
            flushLiteral(length);
            fillMissingLeaves();
            fillWeaks();
            return new SegmentDelta(offset, length, List.copyOf(ops), leaves, weaks, stats());
        }

        SegmentDelta matchZeros() {
            for (int pos = 0; pos < length; pos += blockSize) {
                int local = pos / blockSize;
                int n = Math.min(blockSize, length - pos);
                leaves[local] = ZeroBlocks.hash(n);
                int block = firstBlock + local;
                if (sameLengthBlock(block, n) && basis.isZeroBlock(block)) {
                    emit(new DeltaOp.Same(offset + pos, n), SAME);
                } else {
                    emit(new DeltaOp.Zero(offset + pos, n), ZERO);
                }
            }
            // Zero blocks and blocks the same as zero basis blocks: every weak sum is 0.
            return new SegmentDelta(offset, length, List.copyOf(ops), leaves, weaks, stats());
        }

        /** At a block boundary: the fast tests, then the rolling search. Returns the next position. */
        private int matchAligned(int pos) {
            int local = pos / blockSize;
            int block = firstBlock + local;
            int n = Math.min(blockSize, length - pos);
            if (ZeroBlocks.isZero(data, pos, n)) {
                leaves[local] = ZeroBlocks.hash(n);
                hashed[local] = true;
                flushLiteral(pos);
                if (sameLengthBlock(block, n) && basis.isZeroBlock(block)) {
                    emit(new DeltaOp.Same(offset + pos, n), SAME);
                } else {
                    emit(new DeltaOp.Zero(offset + pos, n), ZERO);
                }
                return pos + n;
            }
            long strong = StrongHash.of(data, pos, n);
            leaves[local] = strong;
            hashed[local] = true;
            if (sameLengthBlock(block, n) && strong == basis.strong(block)) {
                flushLiteral(pos);
                emit(new DeltaOp.Same(offset + pos, n), SAME);
                return pos + n;
            }
            if (n < blockSize || indexSource == null) {
                // Only full blocks are indexed, so a short tail can only be literal.
                startLiteral(pos);
                return pos + n;
            }
            return rollingSearch(pos, true, strong);
        }

        private boolean sameLengthBlock(int block, int n) {
            return block < basis.blockCount() && basis.blockLength(block) == n;
        }

        /**
         * Rolls a block-sized window forward from {@code pos} until a basis block matches it, the
         * next block boundary is reached, or the window no longer fits. {@code strongKnown} says
         * whether {@code strong} is already the strong hash of the window at {@code pos}.
         */
        private int rollingSearch(int pos, boolean strongKnown, long strong) {
            if (index == null) {
                index = indexSource.get();
            }
            int weak = RollingChecksum.of(data, pos, blockSize);
            // Computed once: a division per byte cost ~10 ns, a third of the search's time.
            int boundary = Math.min(length, (pos / blockSize + 1) * blockSize);
            // The last window start to test: the one before the boundary, or the last that fits.
            int last = Math.min(boundary - 1, length - blockSize);
            while (true) {
                if (index.mayContain(weak)) {
                    int candidate = findMatch(weak, pos, strongKnown, strong);
                    if (candidate >= 0) {
                        flushLiteral(pos);
                        long basisOffset = basis.blockOffset(candidate);
                        if (basisOffset == offset + pos) {
                            emit(new DeltaOp.Same(offset + pos, blockSize), SAME);
                        } else {
                            emit(new DeltaOp.Copy(offset + pos, basisOffset, blockSize), MOVED);
                        }
                        return pos + blockSize;
                    }
                }
                startLiteral(pos);
                if (pos + step > last) {
                    // No window from here to the boundary matched (or none fits): literal up to it.
                    return boundary;
                }
                strongKnown = false;
                if (step == 1) {
                    long next = rollToCandidate(data, pos, last, weak, blockSize, index);
                    pos = (int) (next >>> 32);
                    weak = (int) next;
                } else {
                    weak = RollingChecksum.roll(weak, blockSize, data, pos, step);
                    pos += step;
                }
            }
        }

        /** The first indexed block with the window's weak and strong sum, or -1. */
        private int findMatch(int weak, int pos, boolean strongKnown, long strong) {
            int c = index.firstCandidate(weak);
            if (c < 0) {
                return -1;
            }
            // Hashed only now: most windows the filter lets through have no block with their sum.
            long windowStrong = strongKnown ? strong : StrongHash.of(data, pos, blockSize);
            for (; c >= 0; c = index.nextCandidate(c, weak)) {
                if (basis.strong(c) == windowStrong) {
                    return c;
                }
            }
            return -1;
        }

        private void startLiteral(int pos) {
            if (literalStart < 0) {
                literalStart = pos;
            }
        }

        private void flushLiteral(int pos) {
            if (literalStart >= 0 && pos > literalStart) {
                ByteBuffer view = data.slice(literalStart, pos - literalStart);
                emit(new DeltaOp.Literal(offset + literalStart, view), CHANGED);
                literalBytes += pos - literalStart;
            }
            literalStart = -1;
        }

        private void emit(DeltaOp op, byte opKind) {
            int from = (int) ((op.offset() - offset) / blockSize);
            int to = (int) ((op.end() - 1 - offset) / blockSize);
            for (int b = from; b <= to; b++) {
                kind[b] = (byte) Math.max(kind[b], opKind);
            }
            int last = ops.size() - 1;
            DeltaOp merged = last >= 0 ? DeltaOp.merge(ops.get(last), op) : null;
            if (merged != null) {
                ops.set(last, merged);
            } else {
                ops.add(op);
            }
        }

        private void fillMissingLeaves() {
            for (int b = 0; b < hashed.length; b++) {
                if (!hashed[b]) {
                    int pos = b * blockSize;
                    leaves[b] = StrongHash.of(data, pos, Math.min(blockSize, length - pos));
                }
            }
        }

        /**
         * The weak sum of every block, by the receiver's rule: a block made only of same ops at
         * its own offset keeps the basis's entry, any other is summed from its bytes.
         */
        private void fillWeaks() {
            if (weaks == null) {
                return;
            }
            for (int b = 0; b < weaks.length; b++) {
                int pos = b * blockSize;
                int n = Math.min(blockSize, length - pos);
                int block = firstBlock + b;
                weaks[b] = kind[b] == SAME && sameLengthBlock(block, n) ? basis.weak(block)
                        : RollingChecksum.of(data, pos, n);
            }
        }

        private MatchStats stats() {
            long[] counts = new long[4];
            for (byte k : kind) {
                counts[k]++;
            }
            return new MatchStats(counts[SAME], counts[MOVED], counts[ZERO], counts[CHANGED], literalBytes);
        }
    }
}
