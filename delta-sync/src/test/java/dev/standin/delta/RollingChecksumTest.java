package dev.standin.delta;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RollingChecksumTest {

    /** The definition, written the slow and obvious way. */
    private static int reference(byte[] b, int off, int len) {
        long a = 0;
        long s = 0;
        for (int i = 0; i < len; i++) {
            a += b[off + i] & 0xff;
            s += (long) (len - i) * (b[off + i] & 0xff);
        }
        return (int) ((a & 0xffff) | ((s & 0xffff) << 16));
    }

    @Test
    void blockSumMatchesTheDefinitionForAllLengths() {
        Random random = new Random(1);
        byte[] data = new byte[70_000];
        random.nextBytes(data);
        for (int len = 0; len < 67; len++) {
            assertEquals(reference(data, 3, len), RollingChecksum.of(data, 3, len), "length " + len);
        }
        assertEquals(reference(data, 0, 65_536), RollingChecksum.of(data, 0, 65_536));
        byte[] ff = new byte[4096];
        java.util.Arrays.fill(ff, (byte) 0xff);
        assertEquals(reference(ff, 0, 4096), RollingChecksum.of(ff, 0, 4096));
    }

    /** Lanes summed over 64 bytes must not carry into each other, whatever the bytes and the buffer. */
    @Test
    void blockSumMatchesTheDefinitionForSaturatedBytesAndAnyBuffer() {
        byte[] ff = new byte[(1 << 20) + 77];
        java.util.Arrays.fill(ff, (byte) 0xff);
        for (int len : new int[] {63, 64, 65, 4095, 4096, 4097, 8 * 4096 + 24, 1 << 20}) {
            assertEquals(reference(ff, 5, len), RollingChecksum.of(ff, 5, len), "0xff, length " + len);
        }
        Random random = new Random(4);
        byte[] data = new byte[3 * 4096 + 100];
        random.nextBytes(data);
        ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data).flip();
        ByteBuffer little = ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int len : new int[] {8, 100, 4096, 3 * 4096 + 99}) {
            int expected = reference(data, 1, len);
            assertEquals(expected, RollingChecksum.of(direct, 1, len), "direct, length " + len);
            assertEquals(expected, RollingChecksum.of(little, 1, len), "little-endian, length " + len);
        }
    }

    @Test
    void rollingEqualsRecomputing() {
        Random random = new Random(2);
        byte[] data = new byte[20_000];
        random.nextBytes(data);
        for (int len : new int[] {1, 7, 4096}) {
            int sum = RollingChecksum.of(data, 0, len);
            for (int pos = 0; pos + len < data.length; pos++) {
                sum = RollingChecksum.roll(sum, len, data[pos], data[pos + len]);
                assertEquals(RollingChecksum.of(data, pos + 1, len), sum, "len " + len + " pos " + pos);
            }
        }
    }

    @Test
    void rollingManyBytesAtOnceEqualsRecomputing() {
        Random random = new Random(3);
        byte[] data = new byte[40_000];
        random.nextBytes(data);
        java.util.Arrays.fill(data, 30_000, 40_000, (byte) 0xff);
        ByteBuffer buffer = ByteBuffer.wrap(data);
        for (int len : new int[] {64, 512, 4096, 8192}) {
            for (int step : new int[] {1, 63, 64, 100, 512, 4096}) {
                int sum = RollingChecksum.of(data, 0, len);
                for (int pos = 0; pos + len + step <= data.length; pos += step) {
                    sum = RollingChecksum.roll(sum, len, buffer, pos, step);
                    assertEquals(reference(data, pos + step, len), sum, "len " + len + " step " + step + " pos " + pos);
                }
            }
        }
    }

    @Test
    void zeroWindowSumsToZero() {
        assertEquals(0, RollingChecksum.of(new byte[4096], 0, 4096));
    }
}
