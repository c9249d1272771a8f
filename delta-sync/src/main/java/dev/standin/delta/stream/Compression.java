package dev.standin.delta.stream;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Locale;
import org.apache.commons.compress.compressors.lz4.BlockLZ4CompressorInputStream;
import org.apache.commons.compress.compressors.lz4.BlockLZ4CompressorOutputStream;
import org.apache.commons.compress.compressors.lz77support.Parameters;

/**
 * Per-frame payload compression. Each frame is compressed on its own so that it can be checked and
 * applied on its own; a frame that does not shrink is stored as is (codec {@link #NONE}).
 */
public enum Compression {
    NONE(0),
    /** LZ4 block format, pure Java (Apache Commons Compress). */
    LZ4(1),
    /** Zstandard level 3 through zstd-jni: about twice LZ4's ratio on disk images at similar speed. */
    ZSTD(2);

    private static final int ZSTD_LEVEL = 3;
    /**
     * Commons Compress's default LZ4 parameters search long candidate chains: 21 s for 3 MiB of
     * repetitive data here; tuned for speed it takes well under a second.
     */
    private static final Parameters LZ4_PARAMETERS = BlockLZ4CompressorOutputStream.createParameterBuilder().tunedForSpeed().build();

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
     * Compresses {@code src[0, len)} and returns the compressed bytes, or null when they would not
     * be smaller than the input.
     */
    byte[] compress(byte[] src, int len) {
        switch (this) {
            case NONE:
                return null;
            case ZSTD: {
                byte[] dst = new byte[(int) Zstd.compressBound(len)];
                long n = Zstd.compressByteArray(dst, 0, dst.length, src, 0, len, ZSTD_LEVEL);
                if (Zstd.isError(n)) {
                    throw new IllegalStateException("zstd: " + Zstd.getErrorName(n));
                }
                return n < len ? java.util.Arrays.copyOf(dst, (int) n) : null;
            }
            case LZ4: {
                ByteArrayOutputStream out = new ByteArrayOutputStream(len / 2 + 64);
                try (OutputStream lz4 = new BlockLZ4CompressorOutputStream(out, LZ4_PARAMETERS)) {
                    lz4.write(src, 0, len);
                } catch (IOException e) {
                    throw new IllegalStateException("lz4 into memory cannot fail", e);
                }
                return out.size() < len ? out.toByteArray() : null;
            }
            default:
                throw new AssertionError(this);
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
                try (InputStream in = new BlockLZ4CompressorInputStream(new ByteArrayInputStream(src, 0, srcLength))) {
                    int done = 0;
                    while (done < rawLength) {
                        int n = in.read(dst, done, rawLength - done);
                        if (n < 0) {
                            throw new DeltaFormatException("lz4 frame ends after " + done + " of " + rawLength + " bytes");
                        }
                        done += n;
                    }
                    if (in.read() >= 0) {
                        throw new DeltaFormatException("lz4 frame holds more than its " + rawLength + " bytes");
                    }
                } catch (DeltaFormatException e) {
                    throw e;
                } catch (IOException | RuntimeException e) {
                    throw new DeltaFormatException("corrupt lz4 frame: " + e.getMessage(), e);
                }
                return;
            }
            default:
                throw new AssertionError(this);
        }
    }
}
