package dev.standin.delta;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;

/**
 * All-zero blocks: recognising them, and their strong hash. Zero runs are sent as "zero" ops and
 * never enter the weak index (a blank disk would put every block on one chain).
 */
public final class ZeroBlocks {

    /** Large enough for the largest block; read-only, shared. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(BlockSize.MAX).asReadOnlyBuffer();

    private static final ConcurrentHashMap<Integer, long[]> HASHES = new ConcurrentHashMap<>();

    private ZeroBlocks() {}

    /** True if {@code len} bytes at absolute index {@code off} are all zero. */
    public static boolean isZero(ByteBuffer buf, int off, int len) {
        int done = 0;
        while (done < len) {
            int n = Math.min(len - done, ZEROS.capacity());
            // ByteBuffer.mismatch compares eight bytes and more per step (vectorizedMismatch).
            if (buf.slice(off + done, n).mismatch(ZEROS.slice(0, n)) != -1) {
                return false;
            }
            done += n;
        }
        return true;
    }

    public static long hashHi(int len) {
        return hash(len)[1];
    }

    public static long hashLo(int len) {
        return hash(len)[0];
    }

    private static long[] hash(int len) {
        return HASHES.computeIfAbsent(len, n -> {
            StrongHash h = new StrongHash().hash(new byte[n], 0, n);
            return new long[] {h.lo(), h.hi()};
        });
    }

    /** A read-only view of {@code len} zero bytes, {@code len <= BlockSize.MAX}. */
    public static ByteBuffer zeros(int len) {
        return ZEROS.slice(0, len);
    }
}
