package dev.standin.delta;

import java.nio.ByteBuffer;
import net.openhft.hashing.LongTupleHashFunction;

/**
 * XXH128, the strong block hash rsync 3.2+ uses. One instance per thread: it owns a scratch array
 * so that hashing allocates nothing.
 *
 * <p>Hashing a direct buffer needs {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED} on JDK 17
 * (the jar manifest carries it).
 */
public final class StrongHash {

    private static final LongTupleHashFunction XXH128 = LongTupleHashFunction.xx128();

    private final long[] result = new long[2];

    /** Hashes {@code len} bytes at absolute index {@code off}; read the halves with {@link #hi()}/{@link #lo()}. */
    public StrongHash hash(ByteBuffer buf, int off, int len) {
        XXH128.hashBytes(buf, off, len, result);
        return this;
    }

    public StrongHash hash(byte[] buf, int off, int len) {
        XXH128.hashBytes(buf, off, len, result);
        return this;
    }

    public long hi() {
        return result[1];
    }

    public long lo() {
        return result[0];
    }

    public boolean matches(long hi, long lo) {
        return result[1] == hi && result[0] == lo;
    }
}
