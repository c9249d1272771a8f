package dev.standin.delta;

import java.util.Arrays;

/**
 * The per-block weak and strong sums of one image, as parallel primitive arrays (12 bytes a block,
 * no object per block). Blocks are {@code blockSize} long except the last, which holds the rest.
 *
 * <p>Writers fill disjoint indexes from several threads and publish the whole through a
 * happens-before edge (a join or a future); after that the table is only read.
 */
public final class Signatures {

    private final long length;
    private final int blockSize;
    private final int[] weak;
    private final long[] strong;

    public Signatures(long length, int blockSize) {
        BlockSize.validate(blockSize);
        long count = BlockSize.blockCount(length, blockSize);
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(
                    "image of " + length + " bytes has too many blocks of " + blockSize + " bytes");
        }
        this.length = length;
        this.blockSize = blockSize;
        this.weak = new int[(int) count];
        this.strong = new long[(int) count];
    }

    /** Signatures of an image that does not exist yet: no blocks to match against. */
    public static Signatures empty(int blockSize) {
        return new Signatures(0, blockSize);
    }

    public long length() {
        return length;
    }

    public int blockSize() {
        return blockSize;
    }

    public int blockCount() {
        return weak.length;
    }

    public long blockOffset(int index) {
        return (long) index * blockSize;
    }

    public int blockLength(int index) {
        return (int) Math.min(blockSize, length - blockOffset(index));
    }

    public int weak(int index) {
        return weak[index];
    }

    public long strong(int index) {
        return strong[index];
    }

    public void set(int index, int weakSum, long strongHash) {
        weak[index] = weakSum;
        strong[index] = strongHash;
    }

    /** Copies block {@code from} of {@code other} (same block size) into block {@code to} of this. */
    public void copyFrom(Signatures other, int from, int to) {
        set(to, other.weak[from], other.strong[from]);
    }

    public boolean isZeroBlock(int index) {
        int len = blockLength(index);
        return weak[index] == 0 && strong[index] == ZeroBlocks.hash(len);
    }

    /** The digest of the image these signatures describe (see {@link ImageDigest}). */
    public byte[] digest() {
        ImageDigest digest = new ImageDigest(length, blockSize);
        for (int i = 0; i < weak.length; i++) {
            digest.addLeaf(strong[i]);
        }
        return digest.finish();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Signatures s
                && s.length == length
                && s.blockSize == blockSize
                && Arrays.equals(s.weak, weak)
                && Arrays.equals(s.strong, strong);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(length) * 31 + Arrays.hashCode(strong);
    }

    @Override
    public String toString() {
        return "Signatures[" + weak.length + " blocks of " + blockSize + ", " + length + " bytes]";
    }
}
