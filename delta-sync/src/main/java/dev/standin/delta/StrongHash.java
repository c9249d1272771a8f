package dev.standin.delta;

import java.nio.ByteBuffer;
import net.openhft.hashing.LongHashFunction;

/**
 * XXH64, the strong block hash: it decides that a block is unchanged or was found elsewhere, and
 * it is the leaf of the image digest.
 *
 * <p>XXH64 rather than rsync's XXH128: hashing dominates a scan's CPU, and on JDK 17 (measured here,
 * 4 KiB blocks of a direct buffer, warmed up) XXH64 runs at 10.4 GB/s per core and XXH128 at 5.9;
 * on the benchmark's 4 GiB incremental cycle that was 0.3 s of 2.5. What 64 bits cost: a changed
 * block is taken for unchanged with probability 2^-64, so a fleet changing 10^14 blocks a year
 * (1000 VMs, 300 cycles a day, 10^6 changed blocks a cycle) expects one such block every 2^17
 * years. Neither hash resists a block crafted to collide, and no guest can do harm with one but
 * to its own replica. The signatures keep 12 bytes a block instead of 20.
 *
 * <p>Hashing a direct buffer needs {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED} on JDK 17
 * (the jar manifest carries it).
 */
public final class StrongHash {

    private static final LongHashFunction XXH64 = LongHashFunction.xx();

    private StrongHash() {}

    /** Hashes {@code len} bytes at absolute index {@code off}. */
    public static long of(ByteBuffer buf, int off, int len) {
        return XXH64.hashBytes(buf, off, len);
    }

    public static long of(byte[] buf, int off, int len) {
        return XXH64.hashBytes(buf, off, len);
    }
}
