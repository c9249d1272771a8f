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

    private static final ConcurrentHashMap<Integer, Long> HASHES = new ConcurrentHashMap<>();

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

    /** The strong hash of {@code len} zero bytes. */
    public static long hash(int len) {
        return HASHES.computeIfAbsent(len, n -> StrongHash.of(new byte[n], 0, n));
    }

    /** A read-only view of {@code len} zero bytes, {@code len <= BlockSize.MAX}. */
    public static ByteBuffer zeros(int len) {
        return ZEROS.slice(0, len);
    }
}
