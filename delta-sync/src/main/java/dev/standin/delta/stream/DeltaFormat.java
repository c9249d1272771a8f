package dev.standin.delta.stream;

/**
 * Constants of the delta stream format, version 2. docs/delta-format.md is the specification; keep
 * the two in step.
 */
public final class DeltaFormat {

    public static final int VERSION = 3;

    /** "STDELTA\n": identifies the stream and catches text-mode mangling of line ends. */
    static final byte[] STREAM_MAGIC = {'S', 'T', 'D', 'E', 'L', 'T', 'A', '\n'};
    static final int STREAM_HEADER_LENGTH = 68;

    /** "SDFR" in front of every frame, so a desynchronised reader fails at once. */
    static final int FRAME_MAGIC = 0x53444652;
    static final int FRAME_HEADER_LENGTH = 32;

    static final int FRAME_OPS = 1;
    static final int FRAME_END = 2;

    static final int OP_SAME = 1;
    static final int OP_COPY = 2;
    static final int OP_ZERO = 3;
    static final int OP_LITERAL = 4;

    /** Largest decoded frame payload. Bounds the receiver's memory whatever the sender claims. */
    public static final int MAX_FRAME_PAYLOAD = 1 << 20;
    /** Largest stored payload: the raw limit plus zstd's worst-case expansion with room to spare. */
    static final int MAX_STORED_PAYLOAD = MAX_FRAME_PAYLOAD + (MAX_FRAME_PAYLOAD >> 7) + 4096;

    static final int END_PAYLOAD_LENGTH = 8 + 8 + 32;

    /** 2^62 bytes: far beyond any disk, and leaves headroom so offset sums cannot overflow. */
    public static final long MAX_IMAGE_LENGTH = 1L << 62;

    private DeltaFormat() {}
}
