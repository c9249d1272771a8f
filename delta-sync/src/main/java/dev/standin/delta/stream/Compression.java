package dev.standin.delta.stream;

import com.github.luben.zstd.Zstd;
import java.nio.ByteBuffer;
import java.util.Locale;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Frame payload compression. With {@link #NONE}, {@link #LZ4} and {@link #ZSTD} each frame is
 * compressed on its own, and a frame that does not shrink is stored as is (codec {@link #NONE}).
 * {@link #ZSTD_STREAM} compresses the frames of a stream as one Zstandard stream, flushed at the
 * end of every frame: each frame is still decoded, checked and applied as it arrives, and later
 * frames refer back to earlier ones (docs/delta-format.md, "Payload storage").
 */
public enum Compression {
    NONE(0),
    /** LZ4 block format: the fastest, for fast links or CPU-starved hosts. */
    LZ4(1),
    /**
     * Zstandard level 3 through zstd-jni, the default to another host. On the benchmark's 4 GiB
     * image (3.2 GiB allocated) a first copy over SSH sent 1902 MiB with it and 1967 MiB with LZ4,
     * and took 11.1 s against 11.7 s: fewer bytes to encrypt, send and write. Levels 5-9 shrank
     * that image's compressible part by under 1 % for 2.5-5 times the CPU.
     */
    ZSTD(2),
    /**
     * Zstandard level 3, one stream across the frames, each frame's payload a flushed piece of it;
     * what {@code --compress zstd} uses when the receiver lists the capability {@code zstd-stream}.
     * On the benchmark's image it stores 1889.3 MiB where frames of their own store 1890.1 (a
     * 1 MiB frame cannot refer to the one before it), on an ext4 image of /usr 1004 MiB against
     * 1031, for 1.5 and 1.25 times the compression CPU. Larger windows shrank that image by
     * another 2 % for 30 % more CPU, and levels 1-2 grew it by 4-9 %.
     */
    ZSTD_STREAM(3);

    private static final int ZSTD_LEVEL = 3;
    /**
     * The largest window a reader accepts from a {@link #ZSTD_STREAM} (8 MiB, of memory the
     * reader holds for the stream); zstd's own limit, 128 MiB, would let a sender make every
     * receiver allocate that much. The writer's level 3 uses 2 MiB.
     */
    static final int ZSTD_STREAM_MAX_WINDOW_LOG = 23;
    /**
     * lz4-java's JNI codec (the maintained at.yawk.lz4 fork). Commons Compress's pure-Java LZ4 was
     * measured here at 0.5 s per MiB on text and 25-56 s per MiB on mixed data, far below line rate.
     * The safe decompressor never reads or writes outside the arrays it is given.
     */
    private static final LZ4Compressor LZ4_FAST = LZ4Factory.fastestInstance().fastCompressor();
    private static final LZ4SafeDecompressor LZ4_SAFE = LZ4Factory.fastestInstance().safeDecompressor();

    private final int id;

    Compression(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    public static Compression ofId(int id) throws DeltaFormatException {
        for (Compression c : values()) {
            if (c.id == id) {
                return c;
            }
        }
        throw new DeltaFormatException("unknown compression codec " + id);
    }

    /** Parses a user's name for a codec: none, lz4 or zstd (which of the two zstd codecs the receiver decides). */
    public static Compression parse(String name) {
        if (name.equalsIgnoreCase("none") || name.equalsIgnoreCase("lz4") || name.equalsIgnoreCase("zstd")) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
        throw new IllegalArgumentException("unknown compression '" + name + "' (choose none, lz4 or zstd)");
    }

    /**
     * The codec to write with when the user chose this one and the reader decodes the codecs
     * named in {@code readable}: zstd becomes zstd-stream where the reader has it.
     */
    public Compression forReader(java.util.Collection<String> readable) {
        return this == ZSTD && readable.contains(ZSTD_STREAM.wireName()) ? ZSTD_STREAM : this;
    }

    /** The names of every codec this build reads: what a reader in this process decodes. */
    public static java.util.List<String> readable() {
        return java.util.Arrays.stream(values()).map(Compression::wireName).toList();
    }

    /** The codec's name in stats, capabilities and docs: none, lz4, zstd, zstd-stream. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * Compresses frames one after another, each on its own; holds a zstd context (its ~1 MiB of
     * tables allocated once, not per frame: 10 % of a first copy's compression CPU) until closed.
     */
    interface FrameCompressor extends AutoCloseable {
        /** The compressed bytes of {@code src[0, len)}, or null when they would not be smaller. */
        byte[] compress(byte[] src, int len);

        @Override
        void close();
    }

    FrameCompressor newCompressor() {
        return switch (this) {
            case NONE -> stateless((src, len) -> null);
            case LZ4 -> stateless((src, len) -> {
                byte[] dst = new byte[LZ4_FAST.maxCompressedLength(len)];
                int n = LZ4_FAST.compress(src, 0, len, dst, 0, dst.length);
                return n < len ? java.util.Arrays.copyOf(dst, n) : null;
            });
            case ZSTD -> new ZstdFrames();
            case ZSTD_STREAM -> new ZstdStream();
        };
    }

    /**
     * Decompresses the frames of one stream in order; holds the stream's state (for
     * {@link #ZSTD_STREAM}, a zstd context and its window) until closed.
     */
    interface FrameDecompressor extends AutoCloseable {
        /** Decompresses exactly {@code rawLength} bytes into {@code dst}, refusing anything else. */
        void decompress(byte[] src, int srcLength, byte[] dst, int rawLength) throws DeltaFormatException;

        @Override
        default void close() {
            // nothing held
        }
    }

    FrameDecompressor newDecompressor() {
        return this == ZSTD_STREAM ? new ZstdStreamDecompressor() : this::decompress;
    }

    /**
     * Compresses {@code src[0, len)} on its own, with a compressor of its own, and returns the
     * compressed bytes, or null when they would not be smaller than the input.
     */
    byte[] compress(byte[] src, int len) {
        try (FrameCompressor compressor = newCompressor()) {
            return compressor.compress(src, len);
        }
    }

    private static FrameCompressor stateless(java.util.function.BiFunction<byte[], Integer, byte[]> codec) {
        return new FrameCompressor() {
            @Override
            public byte[] compress(byte[] src, int len) {
                return codec.apply(src, len);
            }

            @Override
            public void close() {
                // nothing held
            }
        };
    }

    /** Zstandard frames from one context, its output buffer reused. */
    private static final class ZstdFrames implements FrameCompressor {
        private final com.github.luben.zstd.ZstdCompressCtx context =
                new com.github.luben.zstd.ZstdCompressCtx().setLevel(ZSTD_LEVEL);
        private byte[] buffer = new byte[0];

        @Override
        public byte[] compress(byte[] src, int len) {
            int bound = (int) Zstd.compressBound(len);
            if (buffer.length < bound) {
                buffer = new byte[bound];
            }
            int n;
            try {
                n = context.compressByteArray(buffer, 0, buffer.length, src, 0, len);
            } catch (com.github.luben.zstd.ZstdException e) {
                throw new IllegalStateException("zstd: " + e.getMessage(), e);
            }
            return n < len ? java.util.Arrays.copyOf(buffer, n) : null;
        }

        @Override
        public void close() {
            context.close();
        }
    }

    /**
     * One Zstandard stream, flushed at the end of every frame so that the frame decodes whole
     * from its own bytes and what came before. Every frame is stored compressed, even one that
     * grew (by ~3 bytes per 128 KiB of random data): a frame left out of the stream would leave
     * the reader's window without the bytes later frames refer to.
     */
    private static final class ZstdStream implements FrameCompressor {
        private final com.github.luben.zstd.ZstdCompressCtx context =
                new com.github.luben.zstd.ZstdCompressCtx().setLevel(ZSTD_LEVEL);
        private byte[] buffer = new byte[0];

        @Override
        public byte[] compress(byte[] src, int len) {
            // A flush emits at most a frame's bound for its input, and the stream header before the first.
            int bound = (int) Zstd.compressBound(len) + 64;
            if (buffer.length < bound) {
                buffer = new byte[bound];
            }
            ByteBuffer in = ByteBuffer.wrap(src, 0, len);
            ByteBuffer out = ByteBuffer.wrap(buffer);
            try {
                while (!context.compressByteBufferStream(out, in, com.github.luben.zstd.EndDirective.FLUSH)) {
                    if (!out.hasRemaining()) {
                        buffer = java.util.Arrays.copyOf(buffer, buffer.length * 2);
                        out = ByteBuffer.wrap(buffer).position(out.position());
                    }
                }
            } catch (com.github.luben.zstd.ZstdException e) {
                throw new IllegalStateException("zstd: " + e.getMessage(), e);
            }
            return java.util.Arrays.copyOf(buffer, out.position());
        }

        @Override
        public void close() {
            context.close();
        }
    }

    /** The reading side of {@link ZstdStream}: one context for all the frames of a stream. */
    private static final class ZstdStreamDecompressor implements FrameDecompressor {
        private final com.github.luben.zstd.ZstdDecompressCtx context =
                new com.github.luben.zstd.ZstdDecompressCtx().setLongMax(ZSTD_STREAM_MAX_WINDOW_LOG);
        private final ByteBuffer probe = ByteBuffer.allocate(1);

        @Override
        public void decompress(byte[] src, int srcLength, byte[] dst, int rawLength) throws DeltaFormatException {
            ByteBuffer in = ByteBuffer.wrap(src, 0, srcLength);
            ByteBuffer out = ByteBuffer.wrap(dst, 0, rawLength);
            try {
                while (in.hasRemaining() && out.hasRemaining()) {
                    int before = in.position() + out.position();
                    context.decompressByteBufferStream(out, in);
                    if (in.position() + out.position() == before) {
                        break;
                    }
                }
                if (out.hasRemaining()) {
                    throw new DeltaFormatException("zstd stream frame holds " + out.position() + " bytes instead of "
                            + rawLength);
                }
                probe.clear();
                context.decompressByteBufferStream(probe, in);
                if (in.hasRemaining() || probe.position() > 0) {
                    throw new DeltaFormatException("zstd stream frame holds more than its " + rawLength + " bytes");
                }
            } catch (com.github.luben.zstd.ZstdException e) {
                throw new DeltaFormatException("corrupt zstd stream frame: " + e.getMessage(), e);
            } catch (RuntimeException e) {
                throw new DeltaFormatException("corrupt zstd stream frame: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            context.close();
        }
    }

    /** Decompresses exactly {@code rawLength} bytes into {@code dst}, refusing anything else. */
    void decompress(byte[] src, int srcLength, byte[] dst, int rawLength) throws DeltaFormatException {
        switch (this) {
            case NONE:
                if (srcLength != rawLength) {
                    throw new DeltaFormatException("stored frame of " + srcLength + " bytes claims " + rawLength);
                }
                System.arraycopy(src, 0, dst, 0, rawLength);
                return;
            case ZSTD: {
                long n;
                try {
                    n = Zstd.decompressByteArray(dst, 0, rawLength, src, 0, srcLength);
                } catch (RuntimeException e) {
                    throw new DeltaFormatException("corrupt zstd frame: " + e.getMessage(), e);
                }
                if (Zstd.isError(n) || n != rawLength) {
                    throw new DeltaFormatException("corrupt zstd frame: "
                            + (Zstd.isError(n) ? Zstd.getErrorName(n) : n + " bytes instead of " + rawLength));
                }
                return;
            }
            case LZ4: {
                int n;
                try {
                    n = LZ4_SAFE.decompress(src, 0, srcLength, dst, 0, rawLength);
                } catch (RuntimeException e) {
                    throw new DeltaFormatException("corrupt lz4 frame: " + e.getMessage(), e);
                }
                if (n != rawLength) {
                    throw new DeltaFormatException("lz4 frame holds " + n + " bytes instead of " + rawLength);
                }
                return;
            }
            case ZSTD_STREAM:
                throw new IllegalStateException("a zstd stream frame needs its stream's decompressor");
            default:
                throw new AssertionError(this);
        }
    }
}
