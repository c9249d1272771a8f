package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.delta.BlockSize;
import dev.standin.delta.Signatures;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * The resume log's codec (docs/journal-format.md, "Resuming an interrupted cycle"), without I/O. A
 * log is only ever trusted for what it provably holds: a truncated or bit-flipped log yields no
 * resume at all or the checkpoints before the damage, with exactly their signatures; never a
 * block that was not checkpointed, never a wrong signature.
 */
class ResumeLogProperties {

    private static final int BLOCK = 4096;

    /** A log of {@code records} checkpoints over a target of {@code blocks} blocks, and where each record ends. */
    private record Log(byte[] bytes, List<Integer> ends, List<Integer> heldAfter, Signatures target) {}

    private static Log log(long seed, int blocks, int records) {
        SplittableRandom random = new SplittableRandom(seed);
        Signatures target = new Signatures((long) blocks * BLOCK - random.nextInt(BLOCK), BLOCK);
        for (int i = 0; i < target.blockCount(); i++) {
            target.set(i, random.nextInt(), random.nextLong());
        }
        byte[] basis = new byte[32];
        random.nextBytes(basis);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ResumeLog.header(target.length(), BLOCK, basis));
        List<Integer> ends = new ArrayList<>();
        List<Integer> heldAfter = new ArrayList<>();
        int logged = 0;
        for (int r = 0; r < records && logged < target.blockCount(); r++) {
            int completed = r == records - 1 ? target.blockCount()
                    : logged + 1 + random.nextInt(Math.max(1, (target.blockCount() - logged) / 2));
            completed = Math.min(completed, target.blockCount());
            out.writeBytes(ResumeLog.record(logged, completed, target, 1000L * completed, completed));
            logged = completed;
            ends.add(out.size());
            heldAfter.add(logged);
        }
        return new Log(out.toByteArray(), ends, heldAfter, target);
    }

    private static Optional<ResumeLog.Read> decode(byte[] bytes) throws Exception {
        return ResumeLog.decode(new ResumeLog.Bytes() {
            @Override
            public long size() {
                return bytes.length;
            }

            @Override
            public void readFully(ByteBuffer b, long position) throws EOFException {
                if (position + b.remaining() > bytes.length) {
                    throw new EOFException();
                }
                b.put(bytes, (int) position, b.remaining());
            }
        });
    }

    /** What a decoded log claims must be exactly the first blocks of the target, as checkpointed. */
    private static void assertHeldIsTrue(ResumeLog.Read read, Log log) {
        Signatures held = read.held().signatures();
        for (int i = 0; i < held.blockCount(); i++) {
            assertEquals(log.target().weak(i), held.weak(i), "block " + i);
            assertEquals(log.target().strong(i), held.strong(i), "block " + i);
        }
        assertTrue(held.blockCount() == 0 || log.heldAfter().contains(held.blockCount()),
                "held ends at a checkpoint: " + held.blockCount() + " of " + log.heldAfter());
    }

    @Property
    void aWholeLogResumesFromItsLastCheckpoint(@ForAll long seed, @ForAll @IntRange(min = 1, max = 300) int blocks,
            @ForAll @IntRange(min = 1, max = 8) int records) throws Exception {
        Log log = log(seed, blocks, records);
        ResumeLog.Read read = decode(log.bytes()).orElseThrow();
        assertEquals(log.bytes().length, read.validLength());
        assertEquals((int) log.heldAfter().get(log.heldAfter().size() - 1), read.held().signatures().blockCount());
        assertEquals(log.target().length(), read.held().targetLength());
        assertHeldIsTrue(read, log);
    }

    @Property
    void aTruncatedLogResumesFromTheLastWholeCheckpoint(@ForAll long seed, @ForAll @IntRange(min = 1, max = 300) int blocks,
            @ForAll @IntRange(min = 1, max = 8) int records, @ForAll @IntRange(min = 0) int cut) throws Exception {
        Log log = log(seed, blocks, records);
        int keep = Math.floorMod(cut, log.bytes().length);
        Optional<ResumeLog.Read> read = decode(Arrays.copyOf(log.bytes(), keep));
        int whole = 0;
        for (int i = 0; i < log.ends().size(); i++) {
            if (log.ends().get(i) <= keep) {
                whole = log.heldAfter().get(i);
            }
        }
        if (read.isEmpty()) {
            assertTrue(keep < ResumeLog.header(0, BLOCK, new byte[32]).length, "only a torn header loses the log: " + keep);
            return;
        }
        assertEquals(whole, read.get().held().signatures().blockCount());
        assertHeldIsTrue(read.get(), log);
    }

    @Property
    void aFlippedBitNeverClaimsWhatWasNotCheckpointed(@ForAll long seed, @ForAll @IntRange(min = 1, max = 300) int blocks,
            @ForAll @IntRange(min = 1, max = 8) int records, @ForAll @IntRange(min = 0) int where) throws Exception {
        Log log = log(seed, blocks, records);
        byte[] bytes = log.bytes().clone();
        int bit = Math.floorMod(where, bytes.length * 8);
        bytes[bit / 8] ^= (byte) (1 << (bit % 8));
        Optional<ResumeLog.Read> read = decode(bytes);
        if (read.isEmpty()) {
            return; // the header was hit: the cycle starts over, which is always correct
        }
        int before = 0; // checkpoints that end before the flipped byte
        for (int i = 0; i < log.ends().size(); i++) {
            if (log.ends().get(i) <= bit / 8) {
                before = log.heldAfter().get(i);
            }
        }
        assertEquals(before, read.get().held().signatures().blockCount(), "the log stops at the damaged record");
        assertHeldIsTrue(read.get(), log);
    }

    @Property
    void aHeaderWithAnImpossibleFieldOrAnotherVersionIsNotResumed(@ForAll long seed,
            @ForAll @LongRange(min = 0, max = 1L << 32) long length, @ForAll @IntRange(min = -1, max = 1 << 21) int blockSize,
            @ForAll @IntRange(min = 1, max = 5) int version) throws Exception {
        byte[] basis = new byte[32];
        new SplittableRandom(seed).nextBytes(basis);
        byte[] header = ResumeLog.header(length, blockSize, basis);
        ByteBuffer.wrap(header).putInt(8, version);
        CRC32C crc = new CRC32C();
        crc.update(header, 0, header.length - 4);
        ByteBuffer.wrap(header).putInt(header.length - 4, (int) crc.getValue());
        Optional<ResumeLog.Read> read = decode(header);
        boolean resumable = version == ResumeLog.VERSION && BlockSize.isValid(blockSize);
        assertEquals(resumable, read.isPresent(), "version " + version + ", block size " + blockSize);
        if (read.isPresent()) {
            assertEquals(0, read.get().held().signatures().blockCount());
            assertEquals(length, read.get().held().targetLength());
            assertArrayEquals(basis, read.get().held().basisDigest());
        }
    }
}
