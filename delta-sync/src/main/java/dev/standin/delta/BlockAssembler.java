package dev.standin.delta;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The receiving half of the algorithm: turns an in-order stream of ops into whole target blocks,
 * each reported to a {@link BlockSink} as unchanged, zero, or new content, and computes the
 * signatures of the target as it goes (stored hashes for unchanged blocks, fresh ones for the rest).
 *
 * <p>Working in whole blocks makes the receiver's writes idempotent (a journal of block writes can
 * be replayed after a crash) and gives the target's digest without re-reading it. Data the ops
 * take from the basis is read through {@link Basis} while the basis is still intact, so the caller
 * must not modify the basis until {@link #finish()} has returned.
 */
public final class BlockAssembler {

    /** Random-access reads of the basis image. */
    public interface Basis {
        /** Fills {@code dst}'s remaining bytes from {@code offset}; fails if the basis is shorter. */
        void read(long offset, ByteBuffer dst) throws IOException;
    }

    /** Receives each finished target block, in order. */
    public interface BlockSink {
        /** The block is byte-identical to the basis block at the same index: nothing to write. */
        void same(int block) throws IOException;

        /** The block is {@code length} zero bytes. */
        void zero(int block, int length) throws IOException;

        /** The block's new content; {@code content} is only valid during the call. */
        void data(int block, ByteBuffer content) throws IOException;
    }

    private final Signatures basis;
    private final Basis basisData;
    private final BlockSink sink;
    private final Signatures target;
    private final int blockSize;
    private final ByteBuffer buffer;

    private long expectedOffset;
    private int block;
    private int filled;
    private boolean sameOnly = true;
    private boolean zeroOnly = true;
    private boolean materialized;

    public BlockAssembler(Signatures basis, Basis basisData, long targetLength, int blockSize, BlockSink sink) {
        if (basis.blockCount() > 0 && basis.blockSize() != blockSize) {
            throw new IllegalArgumentException(
                    "basis block size " + basis.blockSize() + " differs from " + blockSize);
        }
        this.basis = basis;
        this.basisData = basisData;
        this.sink = sink;
        this.target = new Signatures(targetLength, blockSize);
        this.blockSize = blockSize;
        this.buffer = ByteBuffer.allocateDirect(blockSize);
    }

    /** Applies the next op; ops must cover the target in order without gaps. */
    public void accept(DeltaOp op) throws IOException {
        if (op.offset() != expectedOffset) {
            throw new IllegalArgumentException("op at " + op.offset() + " but the target is complete up to " + expectedOffset);
        }
        if (op.end() > target.length()) {
            throw new IllegalArgumentException("op ends at " + op.end() + ", past the target's " + target.length() + " bytes");
        }
        if (op instanceof DeltaOp.Same && op.end() > basis.length()) {
            throw new IllegalArgumentException("same op ends at " + op.end() + ", past the basis's " + basis.length() + " bytes");
        }
        if (op instanceof DeltaOp.Copy c && c.basisOffset() + c.length() > basis.length()) {
            throw new IllegalArgumentException("copy op reads to " + (c.basisOffset() + c.length())
                    + ", past the basis's " + basis.length() + " bytes");
        }
        long done = 0;
        while (done < op.length()) {
            int blockLength = target.blockLength(block);
            long left = op.length() - done;
            if (filled == 0 && left >= blockLength && (op instanceof DeltaOp.Same || op instanceof DeltaOp.Zero)) {
                // Whole blocks of an unchanged or zero run need neither buffer nor basis read.
                filled = blockLength;
                sameOnly = op instanceof DeltaOp.Same;
                zeroOnly = op instanceof DeltaOp.Zero;
                finishBlock(blockLength);
                done += blockLength;
                continue;
            }
            int piece = (int) Math.min(left, blockLength - filled);
            place(op, done, piece);
            filled += piece;
            done += piece;
            if (filled == blockLength) {
                finishBlock(blockLength);
            }
        }
        expectedOffset = op.end();
    }

    /** Puts {@code piece} bytes of {@code op}, starting {@code skip} bytes into it, at {@link #filled}. */
    private void place(DeltaOp op, long skip, int piece) throws IOException {
        if (op instanceof DeltaOp.Same s) {
            zeroOnly = false;
            if (!materialized && sameOnly) {
                return;
            }
            readBasis(s.offset() + skip, piece);
        } else if (op instanceof DeltaOp.Zero) {
            sameOnly = false;
            if (!materialized && zeroOnly) {
                return;
            }
            materialize();
            buffer.limit(filled + piece).position(filled);
            buffer.put(ZeroBlocks.zeros(piece));
        } else if (op instanceof DeltaOp.Copy c) {
            readBasis(c.basisOffset() + skip, piece);
        } else if (op instanceof DeltaOp.Literal l) {
            materialize();
            buffer.limit(filled + piece).position(filled);
            buffer.put(l.data().slice(l.data().position() + (int) skip, piece));
        }
        if (!(op instanceof DeltaOp.Same)) {
            sameOnly = false;
        }
        if (!(op instanceof DeltaOp.Zero)) {
            zeroOnly = false;
        }
    }

    private void readBasis(long basisOffset, int piece) throws IOException {
        materialize();
        buffer.limit(filled + piece).position(filled);
        basisData.read(basisOffset, buffer);
    }

    /** Makes the buffer hold the block's first {@link #filled} bytes, which so far were implied. */
    private void materialize() throws IOException {
        if (materialized) {
            return;
        }
        materialized = true;
        if (filled == 0) {
            return;
        }
        buffer.clear().limit(filled);
        if (sameOnly) {
            basisData.read(target.blockOffset(block), buffer);
        } else {
            buffer.put(ZeroBlocks.zeros(filled));
        }
    }

    private void finishBlock(int blockLength) throws IOException {
        if (!materialized && sameOnly && block < basis.blockCount() && basis.blockLength(block) == blockLength) {
            target.copyFrom(basis, block, block);
            sink.same(block);
        } else if (!materialized && zeroOnly) {
            target.set(block, 0, ZeroBlocks.hash(blockLength));
            sink.zero(block, blockLength);
        } else {
            boolean unchanged = !materialized && sameOnly;
            materialize();
            buffer.clear().limit(blockLength);
            target.set(block, RollingChecksum.of(buffer, 0, blockLength), StrongHash.of(buffer, 0, blockLength));
            if (unchanged) {
                // A shortened last block: its bytes are unchanged, only its signature is new.
                sink.same(block);
            } else {
                sink.data(block, buffer.duplicate().position(0).limit(blockLength));
            }
        }
        block++;
        filled = 0;
        sameOnly = true;
        zeroOnly = true;
        materialized = false;
    }

    /** How many target blocks are finished: handed to the sink, signatures known. */
    public int completedBlocks() {
        return block;
    }

    /** The target's signatures; entries below {@link #completedBlocks()} are final. A live view. */
    public Signatures targetSoFar() {
        return target;
    }

    /** Checks that the ops covered the whole target and returns its signatures. */
    public Signatures finish() {
        if (expectedOffset != target.length()) {
            throw new IllegalStateException("ops cover " + expectedOffset + " of the target's " + target.length() + " bytes");
        }
        return target;
    }
}
