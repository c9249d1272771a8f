package dev.standin.delta.stream;

import com.github.luben.zstd.Zstd;
import java.util.Locale;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Per-frame payload compression. Each frame is compressed on its own so that it can be checked and
 * applied on its own; a frame that does not shrink is stored as is (codec {@link #NONE}).
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
    ZSTD(2);

    private static final int ZSTD_LEVEL = 3;
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

    /** Parses a user's name for a codec: none, lz4 or zstd. */
    public static Compression parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown compression '" + name + "' (choose none, lz4 or zstd)", e);
        }
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
        };
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
            default:
                throw new AssertionError(this);
        }
    }
}
