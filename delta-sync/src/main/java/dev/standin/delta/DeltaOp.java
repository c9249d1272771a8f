package dev.standin.delta;

import java.nio.ByteBuffer;

/**
 * One instruction for rebuilding the target from the basis. Every op names the target range it
 * produces, {@code [offset, offset + length)}; a valid delta is a gap-free, in-order cover of the
 * target.
 */
public sealed interface DeltaOp {

    long offset();

    long length();

    default long end() {
        return offset() + length();
    }

    /** The target range equals the basis range at the same offset: nothing to write. */
    record Same(long offset, long length) implements DeltaOp {
        public Same {
            checkRange(offset, length);
        }
    }

    /** The target range equals the basis range starting at {@code basisOffset} (data that moved). */
    record Copy(long offset, long basisOffset, long length) implements DeltaOp {
        public Copy {
            checkRange(offset, length);
            if (basisOffset < 0) {
                throw new IllegalArgumentException("basis offset (" + basisOffset + ") must not be negative");
            }
        }
    }

    /** The target range is all zero bytes. */
    record Zero(long offset, long length) implements DeltaOp {
        public Zero {
            checkRange(offset, length);
        }
    }

    /**
     * The target range is these bytes. {@code data} is a view whose remaining bytes are the literal;
     * it may be backed by a reused buffer, so a consumer that keeps it must copy it.
     */
    record Literal(long offset, ByteBuffer data) implements DeltaOp {
        public Literal {
            checkRange(offset, data.remaining());
        }

        @Override
        public long length() {
            return data.remaining();
        }
    }

    /** Joins two adjacent ops of the same kind (literals excepted) into one, or returns null. */
    static DeltaOp merge(DeltaOp a, DeltaOp b) {
        if (a.end() != b.offset()) {
            return null;
        }
        if (a instanceof Same && b instanceof Same) {
            return new Same(a.offset(), a.length() + b.length());
        }
        if (a instanceof Zero && b instanceof Zero) {
            return new Zero(a.offset(), a.length() + b.length());
        }
        if (a instanceof Copy ca && b instanceof Copy cb && ca.basisOffset() + ca.length() == cb.basisOffset()) {
            return new Copy(ca.offset(), ca.basisOffset(), ca.length() + cb.length());
        }
        return null;
    }

    private static void checkRange(long offset, long length) {
        if (offset < 0 || length <= 0 || offset + length < 0) {
            throw new IllegalArgumentException("op range [" + offset + ", +" + length + ") is not valid");
        }
    }
}
