package dev.standin.delta;

import java.nio.ByteBuffer;

/**
 * rsync's 32-bit weak checksum: {@code a = Σ x_i}, {@code b = Σ (len - i) x_i}, both modulo 2^16,
 * packed as {@code a | b << 16}. Bytes are taken as unsigned.
 *
 * <p>Rolling the window one byte forward costs O(1), which is what makes the search for moved data
 * affordable. Sums are accumulated in 32-bit ints and masked at the end: the low 16 bits of a
 * 32-bit sum are the same as those of the exact sum.
 */
public final class RollingChecksum {

    private RollingChecksum() {}

    /** The checksum of {@code len} bytes of {@code buf} starting at absolute index {@code off}. */
    public static int of(ByteBuffer buf, int off, int len) {
        int a = 0;
        int b = 0;
        int i = 0;
        // Four bytes per step with the position weights folded in keeps the dependency chain
        // short; the plain byte loop runs at about a third of this speed on JDK 17.
        for (; i + 4 <= len; i += 4) {
            int x0 = buf.get(off + i) & 0xff;
            int x1 = buf.get(off + i + 1) & 0xff;
            int x2 = buf.get(off + i + 2) & 0xff;
            int x3 = buf.get(off + i + 3) & 0xff;
            b += 4 * a + 4 * x0 + 3 * x1 + 2 * x2 + x3;
            a += x0 + x1 + x2 + x3;
        }
        for (; i < len; i++) {
            a += buf.get(off + i) & 0xff;
            b += a;
        }
        return pack(a, b);
    }

    /** The checksum of {@code len} bytes of {@code buf} starting at {@code off}. */
    public static int of(byte[] buf, int off, int len) {
        return of(ByteBuffer.wrap(buf), off, len);
    }

    /**
     * The checksum of the window moved one byte forward: {@code out} leaves at the front,
     * {@code in} enters at the back; {@code len} is the window length.
     */
    public static int roll(int sum, int len, byte out, byte in) {
        int o = out & 0xff;
        int a = (sum & 0xffff) - o + (in & 0xff);
        int b = (sum >>> 16) - len * o + a;
        return pack(a, b);
    }

    private static int pack(int a, int b) {
        return (a & 0xffff) | (b << 16);
    }
}
