package dev.standin.delta;

/**
 * The block size rule. A block is the unit of comparison: smaller blocks send less around a small
 * change, larger ones keep the signature table small.
 *
 * <p>Rule: the smallest power of two from 4 KiB up to 1 MiB that keeps an image at or under
 * 2^20 blocks. So images up to 4 GiB use 4 KiB (the guest filesystems' own block size), 64 GiB
 * uses 64 KiB, 1 TiB and larger use 1 MiB. Signatures cost 12 bytes a block, so the table stays
 * at or under 12 MiB up to 1 TiB and grows by 12 bytes per MiB beyond it.
 */
public final class BlockSize {

    public static final int MIN = 4 * 1024;
    public static final int MAX = 1024 * 1024;
    public static final long TARGET_BLOCKS = 1L << 20;

    private BlockSize() {}

    public static int forImageSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("image size (" + bytes + ") must not be negative");
        }
        int size = MIN;
        while (size < MAX && ceilDiv(bytes, size) > TARGET_BLOCKS) {
            size <<= 1;
        }
        return size;
    }

    /** Checks a user-chosen block size; returns it unchanged. */
    /** Whether {@code size} is a block size: a power of two from {@link #MIN} to {@link #MAX}. */
    public static boolean isValid(int size) {
        return size >= MIN && size <= MAX && Integer.bitCount(size) == 1;
    }

    public static int validate(int size) {
        if (size < MIN || size > MAX || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException(
                    "block size (" + size + ") must be a power of two from " + MIN + " to " + MAX);
        }
        return size;
    }

    public static long blockCount(long bytes, int blockSize) {
        return ceilDiv(bytes, blockSize);
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
