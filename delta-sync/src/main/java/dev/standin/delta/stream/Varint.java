package dev.standin.delta.stream;

import java.nio.ByteBuffer;

/** Unsigned LEB128 varints of at most 9 bytes (63 bits); decoding refuses longer ones. */
final class Varint {

    private Varint() {}

    static void put(ByteBuffer buf, long value) {
        if (value < 0) {
            throw new IllegalArgumentException("varint of negative " + value);
        }
        while ((value & ~0x7FL) != 0) {
            buf.put((byte) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        buf.put((byte) value);
    }

    static long get(ByteBuffer buf) throws DeltaFormatException {
        long value = 0;
        for (int shift = 0; shift < 63; shift += 7) {
            if (!buf.hasRemaining()) {
                throw new DeltaFormatException("varint runs past the end of its frame");
            }
            int b = buf.get() & 0xff;
            value |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new DeltaFormatException("varint longer than 63 bits");
    }
}
