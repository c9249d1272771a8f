package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * The journal's reader against journals written here from docs/journal-format.md's tables (an
 * encoder independent of the writer's), without I/O: a committed journal yields exactly its
 * records; any truncation and any flipped bit yields "not committed" (nothing is replayed) or,
 * where the header says another layout, the format's refusal; never other records.
 */
class JournalCodecProperties {

    private static final int BLOCK = 4096;

    /** One record as the reader hands it over: a DATA write or a ZERO range. */
    private record Seen(boolean data, long position, byte[] bytes, int length) {}

    private record Written(byte[] bytes, List<Seen> records, int commitOffset) {}

    private static Written journal(long seed, int count, boolean committed) {
        SplittableRandom random = new SplittableRandom(seed);
        long target = (long) (count + 4) * BLOCK;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer header = ByteBuffer.allocate(68).put(Journal.MAGIC).putShort((short) 3).putShort((short) 0)
                .putInt(BLOCK).putLong(target).putLong(target).put(new byte[32]);
        out.writeBytes(withCrc(header.array(), 64));
        List<Seen> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int block = random.nextInt(count + 4);
            int length = 1 + random.nextInt(BLOCK);
            if (random.nextBoolean()) {
                byte[] data = new byte[length];
                random.nextBytes(data);
                ByteBuffer r = ByteBuffer.allocate(13 + length).put((byte) 1).putInt(block).putInt(length).put(data);
                out.writeBytes(withCrc(r.array(), 9 + length));
                records.add(new Seen(true, (long) block * BLOCK, data, length));
            } else {
                ByteBuffer r = ByteBuffer.allocate(13).put((byte) 2).putInt(block).putInt(length);
                out.writeBytes(withCrc(r.array(), 9));
                records.add(new Seen(false, (long) block * BLOCK, null, length));
            }
        }
        int commitOffset = out.size();
        if (committed) {
            byte[] digest = new byte[32];
            random.nextBytes(digest);
            ByteBuffer c = ByteBuffer.allocate(45).put((byte) 3).putLong(count).put(digest);
            out.writeBytes(withCrc(c.array(), 41));
        }
        return new Written(out.toByteArray(), records, commitOffset);
    }

    private static byte[] withCrc(byte[] record, int covered) {
        CRC32C crc = new CRC32C();
        crc.update(record, 0, covered);
        ByteBuffer.wrap(record).putInt(covered, (int) crc.getValue());
        return record;
    }

    private record Outcome(Journal.Parsed parsed, List<Seen> seen, JournalException refused) {}

    private static Outcome read(byte[] bytes) throws Exception {
        List<Seen> seen = new ArrayList<>();
        try {
            Journal.Parsed parsed = Journal.parse(Channels.newChannel(new ByteArrayInputStream(bytes)),
                    new Journal.RecordVisitor() {
                        @Override
                        public void write(long position, ByteBuffer content) {
                            byte[] data = new byte[content.remaining()];
                            content.duplicate().get(data);
                            seen.add(new Seen(true, position, data, data.length));
                        }

                        @Override
                        public void zero(long position, int length) {
                            seen.add(new Seen(false, position, null, length));
                        }
                    });
            return new Outcome(parsed, seen, null);
        } catch (JournalException e) {
            return new Outcome(null, seen, e);
        }
    }

    private static void assertSameRecords(List<Seen> expected, List<Seen> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).data(), actual.get(i).data(), "record " + i);
            assertEquals(expected.get(i).position(), actual.get(i).position(), "record " + i);
            assertEquals(expected.get(i).length(), actual.get(i).length(), "record " + i);
            if (expected.get(i).data()) {
                assertArrayEquals(expected.get(i).bytes(), actual.get(i).bytes(), "record " + i);
            }
        }
    }

    @Property(tries = 300)
    void aCommittedJournalYieldsExactlyItsRecords(@ForAll long seed, @ForAll @IntRange(min = 0, max = 40) int count)
            throws Exception {
        Written journal = journal(seed, count, true);
        Outcome outcome = read(journal.bytes());
        assertTrue(outcome.parsed().committed());
        assertSameRecords(journal.records(), outcome.seen());
    }

    @Property(tries = 300)
    void aJournalWithoutItsCommitIsNotCommitted(@ForAll long seed, @ForAll @IntRange(min = 0, max = 40) int count)
            throws Exception {
        assertFalse(read(journal(seed, count, false).bytes()).parsed().committed());
    }

    /** A crash while writing leaves a prefix: not committed, whatever the cut. */
    @Property(tries = 300)
    void aTruncatedJournalIsNotCommitted(@ForAll long seed, @ForAll @IntRange(min = 0, max = 40) int count,
            @ForAll @IntRange(min = 0) int cut) throws Exception {
        Written journal = journal(seed, count, true);
        byte[] truncated = Arrays.copyOf(journal.bytes(), Math.floorMod(cut, journal.bytes().length));
        Outcome outcome = read(truncated);
        assertFalse(outcome.parsed().committed());
    }

    /**
     * Damage is never replayed: a flipped bit anywhere makes the journal "not committed" (the
     * records before the damage are only validated, never applied, because recovery applies only a
     * committed journal), or, in the layout digits of the magic, the format's refusal.
     */
    @Property(tries = 300)
    void aFlippedBitIsNeverACommit(@ForAll long seed, @ForAll @IntRange(min = 0, max = 40) int count,
            @ForAll @IntRange(min = 0) int where) throws Exception {
        Written journal = journal(seed, count, true);
        byte[] bytes = journal.bytes();
        int bit = Math.floorMod(where, bytes.length * 8);
        bytes[bit / 8] ^= (byte) (1 << (bit % 8));
        Outcome outcome = read(bytes);
        if (outcome.refused() != null) {
            assertTrue(bit / 8 == 6 || bit / 8 == 7, "only the layout digits are refused: byte " + bit / 8);
            assertTrue(outcome.refused().getMessage().contains("not one this build can replay"));
            return;
        }
        assertFalse(outcome.parsed().committed(), "byte " + bit / 8 + " of " + bytes.length);
    }
}
