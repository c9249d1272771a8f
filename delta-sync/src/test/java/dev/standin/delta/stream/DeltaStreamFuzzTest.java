package dev.standin.delta.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.standin.delta.DeltaOp;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * Mutated streams (bit flips, truncation, inserted, deleted, duplicated and swapped frames) are
 * refused with a {@link DeltaFormatException} before the bad frame's ops reach the caller; a
 * stream that decodes at all decodes to exactly what was encoded.
 */
class DeltaStreamFuzzTest {

    private static final int B = 4096;
    private static final int TRIALS = 600;

    /** A stream with every op kind, several frames, compressed with {@code compression}. */
    private static byte[] sampleStream(Compression compression, List<String> expectOps) throws IOException {
        Random random = new Random(42);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long target = 4L * (1 << 20) + 12_345;
        byte[] basisDigest = new byte[32];
        random.nextBytes(basisDigest);
        DeltaEncoder encoder = new DeltaEncoder(out, new DeltaHeader(B, target, 2L << 20, basisDigest), compression);
        long pos = 0;
        int i = 0;
        while (pos < target) {
            long n = Math.min(target - pos, 1 + random.nextInt(300_000));
            DeltaOp op = switch (i++ % 6) {
                case 0 -> new DeltaOp.Same(pos, Math.min(n, (2L << 20) - pos > 0 ? Math.min(n, (2L << 20) - pos) : n));
                case 2 -> new DeltaOp.Copy(pos, random.nextInt(1 << 20), Math.min(n, 1 << 20));
                case 4 -> new DeltaOp.Zero(pos, n);
                default -> {
                    byte[] lit = new byte[(int) n];
                    for (int k = 0; k < lit.length; k++) {
                        lit[k] = (byte) (k % 7 == 0 ? random.nextInt() : 'x');
                    }
                    yield new DeltaOp.Literal(pos, ByteBuffer.wrap(lit));
                }
            };
            if (op instanceof DeltaOp.Same && op.end() > (2L << 20)) {
                op = new DeltaOp.Zero(pos, n);
            }
            encoder.add(op);
            pos = op.end();
        }
        byte[] digest = new byte[32];
        Arrays.fill(digest, (byte) 7);
        encoder.finish(digest);
        expectOps.addAll(decodeAll(out.toByteArray()));
        return out.toByteArray();
    }

    /** Decodes a whole stream into a canonical text form; throws on any refusal. */
    private static List<String> decodeAll(byte[] stream) throws IOException {
        DeltaDecoder decoder = new DeltaDecoder(new ByteArrayInputStream(stream));
        List<String> ops = new ArrayList<>();
        List<DeltaOp> frame;
        while ((frame = decoder.nextFrame()) != null) {
            for (DeltaOp op : frame) {
                if (op instanceof DeltaOp.Literal l) {
                    byte[] copy = new byte[l.data().remaining()];
                    l.data().duplicate().get(copy);
                    ops.add("L" + l.offset() + ":" + Arrays.hashCode(copy) + ":" + copy.length);
                } else {
                    ops.add(op.toString());
                }
            }
        }
        decoder.expectEndOfInput();
        ops.add("digest:" + Arrays.toString(decoder.targetDigest()));
        return ops;
    }

    /**
     * One compression context serves every frame of a stream: each frame still decodes on its own
     * (as {@link Compression#compress} would have made it), and closing after finish is harmless.
     */
    @ParameterizedTest
    @EnumSource(value = Compression.class, names = "ZSTD_STREAM", mode = EnumSource.Mode.EXCLUDE)
    void framesFromTheStreamsCompressorMatchFramesCompressedAlone(Compression compression) throws IOException {
        byte[] text = new byte[3 << 20];
        for (int k = 0; k < text.length; k++) {
            text[k] = (byte) ("standin journal entry " + (k / 97)).charAt(k % 20);
        }
        try (Compression.FrameCompressor compressor = compression.newCompressor()) {
            for (int len : new int[] {1 << 20, 12_345, 3 << 20, 1 << 20}) {
                byte[] alone = compression.compress(text, len);
                byte[] shared = compressor.compress(text, len);
                assertArrayEquals(alone, shared, compression + " frame of " + len);
                if (shared != null) {
                    byte[] back = new byte[len];
                    compression.decompress(shared, shared.length, back, len);
                    assertArrayEquals(Arrays.copyOf(text, len), back);
                }
            }
        }
        DeltaEncoder encoder = new DeltaEncoder(new ByteArrayOutputStream(), new DeltaHeader(B, B, 0, new byte[32]),
                compression);
        encoder.add(new DeltaOp.Literal(0, ByteBuffer.wrap(Arrays.copyOf(text, B))));
        encoder.finish(new byte[32]);
        encoder.close(); // after finish released it: closing again is harmless
    }

    /**
     * A zstd stream's frames refer to the frames before them: a repeated frame costs a few bytes,
     * and decodes only with the stream's history. The whole stream decodes through one context.
     */
    @Test
    void aZstdStreamFrameRefersToTheFramesBeforeIt() throws IOException {
        byte[] noise = new byte[1 << 20];
        new Random(3).nextBytes(noise);
        try (Compression.FrameCompressor compressor = Compression.ZSTD_STREAM.newCompressor();
                Compression.FrameDecompressor reader = Compression.ZSTD_STREAM.newDecompressor()) {
            byte[] first = compressor.compress(noise, noise.length);
            byte[] again = compressor.compress(noise, noise.length);
            assertTrue(first.length > noise.length, "random data is stored, not shrunk: " + first.length);
            assertTrue(again.length < 1024, "the second copy refers to the first: " + again.length + " bytes");
            byte[] back = new byte[noise.length];
            reader.decompress(first, first.length, back, noise.length);
            assertArrayEquals(noise, back);
            reader.decompress(again, again.length, back, noise.length);
            assertArrayEquals(noise, back);
            try (Compression.FrameDecompressor alone = Compression.ZSTD_STREAM.newDecompressor()) {
                assertThrows(DeltaFormatException.class, () -> alone.decompress(again, again.length, back, noise.length));
            }
        }
    }

    /** A sender cannot make a receiver hold more than an 8 MiB window for a stream. */
    @Test
    void aZstdStreamWithALargerWindowIsRefused() throws IOException {
        byte[] text = new byte[1 << 20];
        Arrays.fill(text, (byte) 'x');
        byte[] stored;
        try (com.github.luben.zstd.ZstdCompressCtx wide = new com.github.luben.zstd.ZstdCompressCtx().setLevel(3)
                .setWindowLog(Compression.ZSTD_STREAM_MAX_WINDOW_LOG + 1)) {
            ByteBuffer out = ByteBuffer.allocate(1 << 16);
            wide.compressByteBufferStream(out, ByteBuffer.wrap(text), com.github.luben.zstd.EndDirective.FLUSH);
            stored = Arrays.copyOf(out.array(), out.position());
        }
        try (Compression.FrameDecompressor reader = Compression.ZSTD_STREAM.newDecompressor()) {
            DeltaFormatException e = assertThrows(DeltaFormatException.class,
                    () -> reader.decompress(stored, stored.length, new byte[text.length], text.length));
            assertTrue(e.getMessage().contains("zstd"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void intactStreamDecodes(Compression compression) throws IOException {
        List<String> ops = new ArrayList<>();
        byte[] stream = sampleStream(compression, ops);
        assertTrue(ops.size() > 10);
        assertEquals(ops, decodeAll(stream));
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void everyMutationIsRefusedOrHarmless(Compression compression) throws IOException {
        List<String> expected = new ArrayList<>();
        byte[] stream = sampleStream(compression, expected);
        Random random = new Random(compression.ordinal());
        int refused = 0;
        int identical = 0;
        for (int trial = 0; trial < TRIALS; trial++) {
            byte[] mutated = mutate(random, stream);
            if (Arrays.equals(mutated, stream)) {
                identical++;
                continue;
            }
            try {
                decodeAll(mutated);
                fail("trial " + trial + ": a mutated stream was accepted");
            } catch (DeltaFormatException e) {
                refused++;
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            } catch (IOException | RuntimeException e) {
                fail("trial " + trial + ": mutation escaped as " + e, e);
            }
        }
        assertEquals(TRIALS, refused + identical);
    }

    @Test
    void truncationAtEveryFrameBoundaryAndInsideIsRefused() throws IOException {
        byte[] stream = sampleStream(Compression.NONE, new ArrayList<>());
        for (int cut = 0; cut < stream.length; cut += 997) {
            byte[] truncated = Arrays.copyOf(stream, cut);
            DeltaFormatException e = assertThrows(DeltaFormatException.class, () -> decodeAll(truncated));
            assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("bad magic"), e.getMessage());
        }
    }

    @Test
    void frameFromAnotherPlaceIsRefusedAsOutOfOrder() throws IOException {
        byte[] stream = sampleStream(Compression.NONE, new ArrayList<>());
        List<int[]> frames = frames(stream);
        assertTrue(frames.size() >= 3, frames.size() + " frames");
        byte[] swapped = swap(stream, frames.get(0), frames.get(1));
        DeltaFormatException e = assertThrows(DeltaFormatException.class, () -> decodeAll(swapped));
        assertTrue(e.getMessage().contains("was due"), e.getMessage() + " / frames " + frames.size());
    }

    @Test
    void unknownVersionIsNamedInTheError() throws IOException {
        byte[] stream = sampleStream(Compression.NONE, new ArrayList<>());
        ByteBuffer.wrap(stream).putShort(8, (short) 9);
        // Fix the header checksum so that the version check itself is what refuses it.
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(stream, 0, 64);
        ByteBuffer.wrap(stream).putInt(64, (int) crc.getValue());
        DeltaFormatException e = assertThrows(DeltaFormatException.class, () -> decodeAll(stream));
        assertTrue(e.getMessage().contains("version 9"), e.getMessage());
    }

    /** Frame spans [start, end) found by walking the headers of a valid stream. */
    private static List<int[]> frames(byte[] stream) {
        List<int[]> spans = new ArrayList<>();
        int pos = DeltaFormat.STREAM_HEADER_LENGTH;
        while (pos < stream.length) {
            int stored = ByteBuffer.wrap(stream).getInt(pos + 24);
            int end = pos + DeltaFormat.FRAME_HEADER_LENGTH + stored;
            spans.add(new int[] {pos, end});
            pos = end;
        }
        return spans;
    }

    private static byte[] swap(byte[] s, int[] a, int[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(s, 0, a[0]);
        out.write(s, b[0], b[1] - b[0]);
        out.write(s, a[0], a[1] - a[0]);
        out.write(s, b[1], s.length - b[1]);
        return out.toByteArray();
    }

    private static byte[] mutate(Random random, byte[] stream) {
        byte[] s = stream.clone();
        List<int[]> frames = frames(stream);
        switch (random.nextInt(7)) {
            case 0: { // flip bits
                int flips = 1 + random.nextInt(4);
                for (int i = 0; i < flips; i++) {
                    s[random.nextInt(s.length)] ^= (byte) (1 << random.nextInt(8));
                }
                return s;
            }
            case 1: // truncate
                return Arrays.copyOf(s, random.nextInt(s.length));
            case 2: { // insert garbage
                int at = random.nextInt(s.length);
                byte[] junk = new byte[1 + random.nextInt(40)];
                random.nextBytes(junk);
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(s, 0, at);
                out.write(junk, 0, junk.length);
                out.write(s, at, s.length - at);
                return out.toByteArray();
            }
            case 3: { // delete bytes
                int at = random.nextInt(s.length);
                int n = Math.min(s.length - at, 1 + random.nextInt(40));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(s, 0, at);
                out.write(s, at + n, s.length - at - n);
                return out.toByteArray();
            }
            case 4: { // drop a frame
                int[] f = frames.get(random.nextInt(frames.size()));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(s, 0, f[0]);
                out.write(s, f[1], s.length - f[1]);
                return out.toByteArray();
            }
            case 5: { // duplicate a frame
                int[] f = frames.get(random.nextInt(frames.size()));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(s, 0, f[1]);
                out.write(s, f[0], f[1] - f[0]);
                out.write(s, f[1], s.length - f[1]);
                return out.toByteArray();
            }
            default: { // swap two frames
                if (frames.size() < 2) {
                    return Arrays.copyOf(s, s.length - 1);
                }
                int i = random.nextInt(frames.size() - 1);
                return swap(s, frames.get(i), frames.get(i + 1));
            }
        }
    }
}
