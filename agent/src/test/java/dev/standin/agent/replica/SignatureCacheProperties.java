package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.delta.Signatures;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.channels.Channels;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The signature cache's codec (docs/signature-cache.md), without I/O: a record round-trips for the
 * replica it describes, and is never used when truncated, bit-flipped, of another block size, or
 * of a replica whose identity differs in any field; the cycle then reads the replica instead.
 */
class SignatureCacheProperties {

    private record Record(byte[] bytes, Signatures signatures, SignatureCache.Identity identity) {}

    private static Record record(long seed, int blocks, int blockSize) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        long length = Math.max(0, (long) blocks * blockSize - random.nextInt(blockSize));
        Signatures signatures = new Signatures(length, blockSize);
        for (int i = 0; i < signatures.blockCount(); i++) {
            signatures.set(i, random.nextInt(), random.nextLong());
        }
        SignatureCache.Identity identity = new SignatureCache.Identity(random.nextLong(), random.nextLong(), length,
                random.nextLong(), random.nextLong());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SignatureCache.encode(Channels.newChannel(out), signatures, identity);
        return new Record(out.toByteArray(), signatures, identity);
    }

    private static Optional<Signatures> decode(byte[] bytes, SignatureCache.Identity now, int blockSize) throws Exception {
        try {
            return SignatureCache.decode(Channels.newChannel(new ByteArrayInputStream(bytes)), bytes.length, now, blockSize);
        } catch (java.io.IOException e) {
            assertTrue(e.getMessage().contains("ended early"), e.getMessage());
            return Optional.empty();
        }
    }

    @Property
    void aRecordRoundTripsForItsReplica(@ForAll long seed, @ForAll @IntRange(min = 0, max = 500) int blocks) throws Exception {
        Record record = record(seed, blocks, 4096);
        Signatures read = decode(record.bytes(), record.identity(), 4096).orElseThrow();
        assertEquals(record.signatures().length(), read.length());
        for (int i = 0; i < read.blockCount(); i++) {
            assertEquals(record.signatures().weak(i), read.weak(i));
            assertEquals(record.signatures().strong(i), read.strong(i));
        }
    }

    @Property
    void aTruncatedRecordIsNotUsed(@ForAll long seed, @ForAll @IntRange(min = 0, max = 500) int blocks,
            @ForAll @IntRange(min = 0) int cut) throws Exception {
        Record record = record(seed, blocks, 4096);
        byte[] truncated = Arrays.copyOf(record.bytes(), Math.floorMod(cut, record.bytes().length));
        assertTrue(decode(truncated, record.identity(), 4096).isEmpty());
    }

    @Property
    void aFlippedBitIsNotUsed(@ForAll long seed, @ForAll @IntRange(min = 0, max = 500) int blocks,
            @ForAll @IntRange(min = 0) int where) throws Exception {
        Record record = record(seed, blocks, 4096);
        byte[] bytes = record.bytes();
        int bit = Math.floorMod(where, bytes.length * 8);
        bytes[bit / 8] ^= (byte) (1 << (bit % 8));
        assertTrue(decode(bytes, record.identity(), 4096).isEmpty(), "byte " + bit / 8);
    }

    @Property
    void aReplicaThatChangedInAnyFieldOrAnotherBlockSizeIsNotServed(@ForAll long seed,
            @ForAll @IntRange(min = 1, max = 200) int blocks, @ForAll @IntRange(min = 0, max = 5) int field) throws Exception {
        Record record = record(seed, blocks, 4096);
        SignatureCache.Identity i = record.identity();
        if (field == 5) {
            assertTrue(decode(record.bytes(), i, 8192).isEmpty(), "another block size");
            return;
        }
        SignatureCache.Identity changed = switch (field) {
            case 0 -> new SignatureCache.Identity(i.device() + 1, i.inode(), i.size(), i.modifiedNanos(), i.changedNanos());
            case 1 -> new SignatureCache.Identity(i.device(), i.inode() + 1, i.size(), i.modifiedNanos(), i.changedNanos());
            case 2 -> new SignatureCache.Identity(i.device(), i.inode(), i.size() + 4096, i.modifiedNanos(), i.changedNanos());
            case 3 -> new SignatureCache.Identity(i.device(), i.inode(), i.size(), i.modifiedNanos() + 1, i.changedNanos());
            default -> new SignatureCache.Identity(i.device(), i.inode(), i.size(), i.modifiedNanos(), i.changedNanos() + 1);
        };
        assertTrue(decode(record.bytes(), changed, 4096).isEmpty(), "identity field " + field);
    }
}
