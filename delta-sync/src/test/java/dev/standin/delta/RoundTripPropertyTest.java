package dev.standin.delta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.delta.stream.Compression;
import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random images, random edits of every kind, random block and segment sizes: the rebuilt image is
 * byte-identical to the target, both ends agree on its digest, and the signatures the sender
 * derives from its deltas are exactly those the receiver computes from what it wrote.
 */
class RoundTripPropertyTest {

    static Stream<Integer> seeds() {
        return IntStream.range(0, 300).boxed();
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void randomEditsRebuildExactly(int seed) throws IOException {
        Random random = new Random(seed);
        int blockSize = 4096 << random.nextInt(3);
        int segmentSize = blockSize * (1 + random.nextInt(8));
        byte[] basis = image(random, random.nextInt(40 * blockSize));
        byte[] target = basis;
        int edits = random.nextInt(8);
        for (int i = 0; i < edits; i++) {
            target = edit(random, target, blockSize);
        }
        Compression compression = Compression.values()[random.nextInt(Compression.values().length)];
        MoveSearch moves = MoveSearch.values()[seed % MoveSearch.values().length];
        DeltaHarness.Result result = DeltaHarness.run(basis, target, blockSize, segmentSize, compression, moves);
        assertArrayEquals(target, result.rebuilt(), "seed " + seed + ", " + moves);
        assertArrayEquals(result.sourceDigest(), result.rebuiltDigest());
        assertEquals(result.receiverSignatures(), result.senderSignatures(), "seed " + seed + ", " + moves);
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void firstCopyIntoNothingAndShrinkToNothing(Compression compression) throws IOException {
        Random random = new Random(99);
        byte[] image = image(random, 100_000);
        assertArrayEquals(image, DeltaHarness.run(new byte[0], image, 4096, 8192, compression).rebuilt());
        assertArrayEquals(new byte[0], DeltaHarness.run(image, new byte[0], 4096, 8192, compression).rebuilt());
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void literalBytesStayCloseToTheChangedBytes(Compression compression) throws IOException {
        Random random = new Random(7);
        byte[] basis = new byte[4096 * 2000];
        random.nextBytes(basis);
        byte[] target = basis.clone();
        int changed = 0;
        for (int block = 0; block < 2000; block += 100) {
            byte[] fresh = new byte[4096];
            random.nextBytes(fresh);
            System.arraycopy(fresh, 0, target, block * 4096, 4096);
            changed += 4096;
        }
        DeltaHarness.Result result = DeltaHarness.run(basis, target, 4096, 1 << 20, compression);
        assertArrayEquals(target, result.rebuilt());
        assertTrue(result.stats().literalBytes() == changed, "literal " + result.stats().literalBytes());
        assertTrue(result.stream().length <= changed * 1.05, "stream " + result.stream().length + " for " + changed);
    }

    /** Random data with compressible and zero extents, as disk images have. */
    static byte[] image(Random random, int length) {
        byte[] b = new byte[length];
        int pos = 0;
        while (pos < length) {
            int n = Math.min(length - pos, 1 + random.nextInt(30_000));
            switch (random.nextInt(3)) {
                case 0 -> {
                    byte[] r = new byte[n];
                    random.nextBytes(r);
                    System.arraycopy(r, 0, b, pos, n);
                }
                case 1 -> Arrays.fill(b, pos, pos + n, (byte) ('a' + random.nextInt(26)));
                default -> { }
            }
            pos += n;
        }
        return b;
    }

    static byte[] edit(Random random, byte[] in, int blockSize) {
        int len = in.length;
        int at = len == 0 ? 0 : random.nextInt(len);
        int n = 1 + random.nextInt(3 * blockSize);
        switch (random.nextInt(7)) {
            case 0: { // overwrite
                byte[] out = in.clone();
                for (int i = at; i < Math.min(len, at + n); i++) {
                    out[i] = (byte) random.nextInt();
                }
                return out;
            }
            case 1: { // insert
                byte[] ins = new byte[n];
                random.nextBytes(ins);
                return concat(Arrays.copyOfRange(in, 0, at), ins, Arrays.copyOfRange(in, at, len));
            }
            case 2: // delete
                return concat(Arrays.copyOfRange(in, 0, at), Arrays.copyOfRange(in, Math.min(len, at + n), len));
            case 3: { // move a range elsewhere
                if (len < 2) {
                    return in;
                }
                int from = random.nextInt(len);
                int size = Math.min(n, len - from);
                byte[] moved = Arrays.copyOfRange(in, from, from + size);
                byte[] rest = concat(Arrays.copyOfRange(in, 0, from), Arrays.copyOfRange(in, from + size, len));
                int to = rest.length == 0 ? 0 : random.nextInt(rest.length);
                return concat(Arrays.copyOfRange(rest, 0, to), moved, Arrays.copyOfRange(rest, to, rest.length));
            }
            case 4: { // extend
                byte[] tail = new byte[n];
                if (random.nextBoolean()) {
                    random.nextBytes(tail);
                }
                return concat(in, tail);
            }
            case 5: // shrink
                return Arrays.copyOf(in, Math.max(0, len - n));
            default: { // zero-fill
                byte[] out = in.clone();
                Arrays.fill(out, at, Math.min(len, at + n), (byte) 0);
                return out;
            }
        }
    }

    static byte[] concat(byte[]... parts) {
        int total = 0;
        for (byte[] p : parts) {
            total += p.length;
        }
        byte[] out = new byte[total];
        int pos = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }
}
