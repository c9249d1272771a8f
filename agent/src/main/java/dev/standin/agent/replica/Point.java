package dev.standin.agent.replica;

import dev.standin.delta.ImageDigest;
import java.time.Instant;
import java.util.Arrays;

/**
 * One recovery point of a replica: the image it held after commit number {@code id}.
 *
 * @param id          1 for the first copy, then one more per committed cycle; never reused
 * @param committed   when the cycle's journal (or first copy) was committed
 * @param length      the image's length in bytes
 * @param blockSize   block size of the {@link ImageDigest} below (the cycle's delta block size)
 * @param digest      image digest of the point's content, as verified against the source at commit
 * @param kind        how the point's bytes are kept
 * @param pending     true from just before the cycle first writes the replica until the point's
 *                    data is settled (its clone taken); a pending point is finished by recovery
 */
public record Point(long id, Instant committed, long length, int blockSize, byte[] digest, Kind kind, boolean pending) {

    /** How a point's bytes are kept. */
    public enum Kind {
        /** A reflink clone of the replica ({@code point-ID.img}): shares every unchanged extent. */
        CLONE(1),
        /** The replica itself while this is the newest point; then the pre-images the next cycle overwrote. */
        UNDO(2);

        final int code;

        Kind(int code) {
            this.code = code;
        }

        static Kind of(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown point kind " + code);
        }
    }

    public Point {
        digest = digest.clone();
        if (digest.length != ImageDigest.LENGTH || id < 1 || length < 0) {
            throw new IllegalArgumentException("bad point " + id + " (length " + length + ")");
        }
    }

    @Override
    public byte[] digest() {
        return digest.clone();
    }

    public String digestHex() {
        return ImageDigest.hex(digest);
    }

    Point settled(Kind settledKind) {
        return new Point(id, committed, length, blockSize, digest, settledKind, false);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Point p && p.id == id && p.committed.equals(committed) && p.length == length
                && p.blockSize == blockSize && Arrays.equals(p.digest, digest) && p.kind == kind && p.pending == pending;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(id) * 31 + Arrays.hashCode(digest);
    }

    @Override
    public String toString() {
        return "Point[" + id + ", " + committed + ", " + length + " bytes, " + kind + (pending ? ", pending" : "") + "]";
    }
}
