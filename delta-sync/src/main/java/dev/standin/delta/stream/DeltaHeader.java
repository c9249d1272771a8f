package dev.standin.delta.stream;

import dev.standin.delta.BlockSize;
import dev.standin.delta.ImageDigest;
import java.util.Arrays;

/**
 * What a delta stream is about: the block size, the target's length, and the basis it was computed
 * against (length and digest). A receiver applies a delta only to a basis with that digest.
 */
public record DeltaHeader(int blockSize, long targetLength, long basisLength, byte[] basisDigest) {

    /** The digest stands for "no basis" (a first copy). */
    public static final byte[] NO_BASIS = new byte[ImageDigest.LENGTH];

    public DeltaHeader {
        BlockSize.validate(blockSize);
        if (targetLength < 0 || targetLength > DeltaFormat.MAX_IMAGE_LENGTH) {
            throw new IllegalArgumentException("target length " + targetLength + " is out of range");
        }
        if (basisLength < 0 || basisLength > DeltaFormat.MAX_IMAGE_LENGTH) {
            throw new IllegalArgumentException("basis length " + basisLength + " is out of range");
        }
        if (basisDigest.length != ImageDigest.LENGTH) {
            throw new IllegalArgumentException("basis digest must be " + ImageDigest.LENGTH + " bytes");
        }
        basisDigest = basisDigest.clone();
    }

    @Override
    public byte[] basisDigest() {
        return basisDigest.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeltaHeader h
                && h.blockSize == blockSize
                && h.targetLength == targetLength
                && h.basisLength == basisLength
                && Arrays.equals(h.basisDigest, basisDigest);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(targetLength) * 31 + Arrays.hashCode(basisDigest);
    }

    @Override
    public String toString() {
        return "DeltaHeader[blockSize=" + blockSize + ", targetLength=" + targetLength
                + ", basisLength=" + basisLength + ", basisDigest=" + ImageDigest.hex(basisDigest) + "]";
    }
}
