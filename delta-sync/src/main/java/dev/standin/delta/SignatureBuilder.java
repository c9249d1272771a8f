package dev.standin.delta;

import java.nio.ByteBuffer;

/**
 * Computes the signatures of an image segment by segment. Several builders (one per thread) may
 * fill one {@link Signatures} at once, as long as they are given disjoint segments.
 */
public final class SignatureBuilder {

    private final Signatures target;

    public SignatureBuilder(Signatures target) {
        this.target = target;
    }

    /**
     * Signs the blocks of a segment: {@code length} bytes of {@code data} (absolute indexes
     * {@code 0..length}) that sit at {@code offset}, a multiple of the block size. The segment must
     * hold whole blocks, except at the end of the image.
     */
    public void add(long offset, ByteBuffer data, int length) {
        int blockSize = target.blockSize();
        if (offset % blockSize != 0 || offset + length > target.length()) {
            throw new IllegalArgumentException("segment [" + offset + ", +" + length + ") is not block-aligned inside "
                    + target.length() + " bytes");
        }
        if (length % blockSize != 0 && offset + length != target.length()) {
            throw new IllegalArgumentException("segment of " + length + " bytes ends inside a block");
        }
        int first = (int) (offset / blockSize);
        for (int pos = 0; pos < length; pos += blockSize) {
            int n = Math.min(blockSize, length - pos);
            int block = first + pos / blockSize;
            if (ZeroBlocks.isZero(data, pos, n)) {
                target.set(block, 0, ZeroBlocks.hash(n));
            } else {
                target.set(block, RollingChecksum.of(data, pos, n), StrongHash.of(data, pos, n));
            }
        }
    }

    /** Signs a segment known to be all zero without reading it (a hole in a sparse image). */
    public void addZeros(long offset, int length) {
        int blockSize = target.blockSize();
        if (offset % blockSize != 0 || offset + length > target.length()) {
            throw new IllegalArgumentException("zero segment [" + offset + ", +" + length + ") is not valid");
        }
        int first = (int) (offset / blockSize);
        for (int pos = 0; pos < length; pos += blockSize) {
            int n = Math.min(blockSize, length - pos);
            target.set(first + pos / blockSize, 0, ZeroBlocks.hash(n));
        }
    }

    /** Signatures of a whole image held in memory; convenient for tests and small images. */
    public static Signatures of(ByteBuffer image, int blockSize) {
        Signatures signatures = new Signatures(image.remaining(), blockSize);
        if (image.remaining() > 0) {
            new SignatureBuilder(signatures).add(0, image.slice(), image.remaining());
        }
        return signatures;
    }
}
