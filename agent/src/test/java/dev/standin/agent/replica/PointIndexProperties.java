package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.delta.ImageDigest;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Arrays;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * The point index's codec (docs/points-format.md, "Index"), without I/O: every index round-trips,
 * and every truncation, bit flip and impossible field is refused with the format's error, never
 * read as another list of points.
 */
class PointIndexProperties {

    @Property
    void everyIndexRoundTrips(@ForAll("indexes") PointIndex index) throws Exception {
        byte[] bytes = index.encode();
        PointIndex read = PointIndex.decode(bytes, "index");
        assertArrayEquals(bytes, read.encode());
    }

    @Property
    void aTruncatedIndexIsRefused(@ForAll("indexes") PointIndex index, @ForAll @IntRange(min = 0) int cut) {
        byte[] bytes = index.encode();
        byte[] truncated = Arrays.copyOf(bytes, Math.floorMod(cut, bytes.length));
        assertThrows(PointFormatException.class, () -> PointIndex.decode(truncated, "index"));
    }

    @Property
    void aFlippedBitIsRefused(@ForAll("indexes") PointIndex index, @ForAll @IntRange(min = 0) int where) {
        byte[] bytes = index.encode();
        int bit = Math.floorMod(where, bytes.length * 8);
        bytes[bit / 8] ^= (byte) (1 << (bit % 8));
        assertThrows(PointFormatException.class, () -> PointIndex.decode(bytes, "index"));
    }

    /** A field out of its range under a valid checksum (a bug, not damage) is refused too, by name. */
    @Property
    void anImpossibleEntryIsRefused(@ForAll("indexes") PointIndex index, @ForAll @IntRange(min = 0) int which,
            @ForAll @IntRange(min = 0, max = 2) int field) throws Exception {
        if (index.points().isEmpty()) {
            return;
        }
        byte[] bytes = index.encode();
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int entry = PointIndex.HEADER + Math.floorMod(which, index.points().size()) * PointIndex.ENTRY;
        switch (field) {
            case 0 -> b.putLong(entry, 0); // id 0: ids start at 1
            case 1 -> b.putLong(entry + 16, -1); // negative length
            default -> b.put(entry + 28, (byte) 9); // no such kind
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        b.putInt(bytes.length - 4, (int) crc.getValue());
        PointFormatException refused = assertThrows(PointFormatException.class, () -> PointIndex.decode(bytes, "index"));
        assertTrue(refused.getMessage().contains(" entry "), refused.getMessage());
    }

    @Provide
    Arbitrary<PointIndex> indexes() {
        Arbitrary<Point> point = Combinators.combine(
                Arbitraries.longs().between(1, Long.MAX_VALUE / 2),
                Arbitraries.longs().between(0, 4_102_444_800_000L).map(Instant::ofEpochMilli),
                Arbitraries.longs().between(0, 1L << 50),
                Arbitraries.of(4096, 65536, 1 << 20),
                Arbitraries.bytes().array(byte[].class).ofSize(ImageDigest.LENGTH),
                Arbitraries.of(Point.Kind.class),
                Arbitraries.of(true, false))
                .as(Point::new);
        return Combinators.combine(Arbitraries.longs().between(1, Long.MAX_VALUE / 2), point.list().ofMaxSize(30))
                .as(PointIndex::new);
    }
}
