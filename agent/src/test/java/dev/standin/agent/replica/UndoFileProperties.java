package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The undo file's reader (docs/points-format.md, "Undo file") against files written here from the
 * document's tables, without I/O: a complete file applies exactly its records after setting the
 * length; a truncated or bit-flipped file is refused with the format's error before anything is
 * applied.
 */
class UndoFileProperties {

    /** What an apply did to its target, in order. */
    private static final class Recording implements UndoFile.Target {
        final List<String> calls = new ArrayList<>();

        @Override
        public void setLength(long length) {
            calls.add("length " + length);
        }

        @Override
        public void write(long offset, ByteBuffer data) {
            byte[] bytes = new byte[data.remaining()];
            data.duplicate().get(bytes);
            calls.add("write " + offset + " " + Arrays.hashCode(bytes) + " " + bytes.length);
        }

        @Override
        public void zero(long offset, long length) {
            calls.add("zero " + offset + " " + length);
        }
    }

    private record Written(byte[] bytes, List<String> calls) {}

    private static Written undo(long seed, int count) {
        SplittableRandom random = new SplittableRandom(seed);
        long before = 1L << 24;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer header = ByteBuffer.allocate(40).put(UndoFile.MAGIC).putShort((short) 1).putShort((short) 0)
                .putLong(7).putLong(before).putLong(before + 4096);
        out.writeBytes(withCrc(header.array(), 36));
        List<String> calls = new ArrayList<>(List.of("length " + before));
        for (int i = 0; i < count; i++) {
            long offset = random.nextLong(before - 70_000);
            int length = 1 + random.nextInt(65536);
            if (random.nextBoolean()) {
                byte[] data = new byte[length];
                random.nextBytes(data);
                out.writeBytes(withCrc(ByteBuffer.allocate(17 + length).put((byte) 1).putLong(offset).putInt(length)
                        .put(data).array(), 13 + length));
                calls.add("write " + offset + " " + Arrays.hashCode(data) + " " + length);
            } else {
                out.writeBytes(withCrc(ByteBuffer.allocate(17).put((byte) 2).putLong(offset).putInt(length).array(), 13));
                calls.add("zero " + offset + " " + length);
            }
        }
        out.writeBytes(withCrc(ByteBuffer.allocate(13).put((byte) 3).putLong(count).array(), 9));
        return new Written(out.toByteArray(), calls);
    }

    private static byte[] withCrc(byte[] record, int covered) {
        CRC32C crc = new CRC32C();
        crc.update(record, 0, covered);
        ByteBuffer.wrap(record).putInt(covered, (int) crc.getValue());
        return record;
    }

    private static UndoFile.Header apply(byte[] bytes, Recording target) throws Exception {
        return UndoFile.apply(() -> Channels.newChannel(new ByteArrayInputStream(bytes)), "undo", target);
    }

    @Property(tries = 300)
    void aCompleteFileAppliesExactlyItsRecords(@ForAll long seed, @ForAll @IntRange(min = 0, max = 30) int count)
            throws Exception {
        Written undo = undo(seed, count);
        Recording target = new Recording();
        UndoFile.Header header = apply(undo.bytes(), target);
        assertEquals(new UndoFile.Header(7, 1L << 24, (1L << 24) + 4096), header);
        assertEquals(undo.calls(), target.calls);
    }

    @Property(tries = 300)
    void aTruncatedFileIsRefusedBeforeAnythingIsApplied(@ForAll long seed, @ForAll @IntRange(min = 0, max = 30) int count,
            @ForAll @IntRange(min = 0) int cut) {
        Written undo = undo(seed, count);
        byte[] truncated = Arrays.copyOf(undo.bytes(), Math.floorMod(cut, undo.bytes().length));
        Recording target = new Recording();
        PointFormatException refused = assertThrows(PointFormatException.class, () -> apply(truncated, target));
        assertTrue(refused.getMessage().startsWith("undo file undo is damaged"), refused.getMessage());
        assertEquals(List.of(), target.calls, "nothing applied");
    }

    @Property(tries = 300)
    void aFlippedBitIsRefusedBeforeAnythingIsApplied(@ForAll long seed, @ForAll @IntRange(min = 0, max = 30) int count,
            @ForAll @IntRange(min = 0) int where) {
        Written undo = undo(seed, count);
        byte[] bytes = undo.bytes();
        int bit = Math.floorMod(where, bytes.length * 8);
        bytes[bit / 8] ^= (byte) (1 << (bit % 8));
        Recording target = new Recording();
        assertThrows(PointFormatException.class, () -> apply(bytes, target));
        assertEquals(List.of(), target.calls, "nothing applied");
    }

    @Property(tries = 300)
    void aRecordOutOfRangeUnderAValidChecksumIsRefused(@ForAll long seed, @ForAll @IntRange(min = 0, max = 2) int how) {
        byte[] header = undo(seed, 0).bytes();
        byte[] start = Arrays.copyOf(header, 40);
        byte[] record = switch (how) {
            case 0 -> withCrc(ByteBuffer.allocate(17).put((byte) 2).putLong(-1).putInt(1).array(), 13); // negative offset
            case 1 -> withCrc(ByteBuffer.allocate(17).put((byte) 2).putLong(1L << 24).putInt(1).array(), 13); // past the end
            default -> withCrc(ByteBuffer.allocate(17).put((byte) 2).putLong(0).putInt(0).array(), 13); // empty
        };
        byte[] end = withCrc(ByteBuffer.allocate(13).put((byte) 3).putLong(1).array(), 9);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(start);
        out.writeBytes(record);
        out.writeBytes(end);
        Recording target = new Recording();
        PointFormatException refused = assertThrows(PointFormatException.class, () -> apply(out.toByteArray(), target));
        assertTrue(refused.getMessage().contains("out of range"), refused.getMessage());
        assertEquals(List.of(), target.calls);
    }
}
