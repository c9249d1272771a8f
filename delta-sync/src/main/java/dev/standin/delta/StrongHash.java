package dev.standin.delta;

import java.nio.ByteBuffer;
import net.openhft.hashing.LongHashFunction;

/**
 * XXH3-64 (seed 0), the strong block hash: it decides that a block is unchanged or was found
 * elsewhere, and it is the leaf of the image digest.
 *
 * <p>Hashing dominates a scan's CPU, so direct buffers (the scan's segment buffers of the source
 * and the replica) are hashed by the system's libxxhash, which uses the CPU's vector units: 4 KiB blocks of a
 * mapped file here, one core, 11–19 GB/s (each block copied out of the mapping first, see
 * {@link NativeXxh3}), against 7–9 for XXH64 and 5 for XXH3 in Java (zero-allocation-hashing),
 * which hashes heap arrays and everything where libxxhash is missing.
 * Both compute the same function (tested), so which one ran never shows in a signature.
 * (Version 1 of the formats used XXH128, version 2 XXH64.) What 64 bits cost: a changed block is
 * taken for unchanged with probability 2^-64, so a fleet changing 10^14 blocks a year (1000 VMs,
 * 300 cycles a day, 10^6 changed blocks a cycle) expects one such block every 2^17 years. No
 * xxHash resists a block crafted to collide, and no guest can do harm with one but to its own
 * replica.
 *
 * <p>Reading a direct buffer's address needs {@code --add-opens java.base/java.nio=ALL-UNNAMED}
 * and zero-allocation-hashing {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED} on JDK 17
 * (the jar manifest carries both).
 */
public final class StrongHash {

    private static final LongHashFunction XXH3 = LongHashFunction.xx3();
    /** A pure function either way: the choice changes the speed, never a hash. */
    private static final NativeXxh3 NATIVE = NativeXxh3.load().orElse(null);

    private StrongHash() {}

    /** Hashes {@code len} bytes at absolute index {@code off}. */
    public static long of(ByteBuffer buf, int off, int len) {
        if (NATIVE != null && buf.isDirect()) {
            return NATIVE.hash(buf, off, len);
        }
        return XXH3.hashBytes(buf, off, len);
    }

    public static long of(byte[] buf, int off, int len) {
        return XXH3.hashBytes(buf, off, len);
    }

    /** Which code computes the hash of direct buffers here, for diagnostics. */
    public static String implementation() {
        return NATIVE != null ? NATIVE.implementation() : "zero-allocation-hashing";
    }
}
