package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The redo journal on real files: a committed journal is replayed (again and again, with the same
 * result), an uncommitted one is discarded, and a journal cut at any byte — a crash while it was
 * being written — leaves the replica at exactly the old or the new content.
 */
class JournalIT {

    private static final int B = 4096;

    @TempDir
    Path dir;

    private Path replica;
    private Path journal;
    private String oldDigest;
    private String newDigest;

    /** A 64-block replica, and a journal that rewrites 10 blocks, zeroes 3 and grows it by 2 blocks. */
    private void prepare(boolean commit) throws IOException {
        replica = Images.create(dir.resolve("replica.img"), 64 * B, 1);
        journal = Journal.pathFor(replica, false, dir);
        Path expected = dir.resolve("expected.img");
        Files.copy(replica, expected, StandardCopyOption.REPLACE_EXISTING);
        SplittableRandom random = new SplittableRandom(2);
        try (Journal.Writer w = new Journal.Writer(journal, B, 66 * B, 64 * B, new byte[32]);
                FileChannel exp = FileChannel.open(expected, StandardOpenOption.WRITE)) {
            for (int block : new int[] {0, 5, 6, 7, 20, 33, 40, 41, 63, 65}) {
                byte[] data = new byte[B];
                random.nextBytes(data);
                w.data(block, ByteBuffer.wrap(data));
                exp.write(ByteBuffer.wrap(data), (long) block * B);
            }
            for (int block : new int[] {10, 11, 64}) {
                w.zero(block, B);
                exp.write(ByteBuffer.wrap(new byte[B]), (long) block * B);
            }
            if (commit) {
                w.commit(new byte[32]);
            }
        }
        oldDigest = Images.sha256(replica);
        newDigest = Images.sha256(expected);
    }

    @Test
    void committedJournalIsReplayedIdempotently() throws IOException {
        prepare(true);
        Path copy = dir.resolve("journal.copy");
        Files.copy(journal, copy);
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false));
        assertEquals(newDigest, Images.sha256(replica));
        assertFalse(Files.exists(journal));
        // A crash during the replay means replaying again over a half-applied replica.
        Files.copy(copy, journal);
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false));
        assertEquals(newDigest, Images.sha256(replica));
    }

    /**
     * A journal many times the reader's 1 MiB read-ahead, in small and in 1 MiB blocks, whose
     * records the replay gathers into runs: runs of writes, runs of zeros, a block zeroed and then
     * written, and one written and then zeroed. With and without the native library (punched
     * holes, or zeros written by hand), the replica ends exactly as the records applied one by one.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"4096, true", "4096, false", "1048576, true"})
    void aLongJournalIsReplayedInTheOrderOfItsRecords(int blockSize, boolean nativeZeroing) throws IOException {
        int blocks = blockSize == B ? 4096 : 24;
        replica = Images.create(dir.resolve("replica.img"), (long) blocks * blockSize, 3);
        journal = Journal.pathFor(replica, false, dir);
        byte[] expected = Files.readAllBytes(replica);
        SplittableRandom random = new SplittableRandom(4);
        try (Journal.Writer w = new Journal.Writer(journal, blockSize, (long) blocks * blockSize,
                (long) blocks * blockSize, new byte[32])) {
            for (int block = 0; block < blocks; ) {
                int run = 1 + random.nextInt(16);
                boolean zero = random.nextInt(3) == 0;
                for (int b = block; b < Math.min(blocks, block + run); b++) {
                    if (zero) {
                        w.zero(b, blockSize);
                        Arrays.fill(expected, b * blockSize, (b + 1) * blockSize, (byte) 0);
                    } else {
                        byte[] data = new byte[blockSize];
                        random.nextBytes(data);
                        w.data(b, ByteBuffer.wrap(data));
                        System.arraycopy(data, 0, expected, b * blockSize, blockSize);
                    }
                }
                block += run + random.nextInt(4);
            }
            byte[] last = new byte[blockSize];
            random.nextBytes(last);
            w.zero(1, blockSize); // zeroed, then written: the data wins
            w.data(1, ByteBuffer.wrap(last));
            System.arraycopy(last, 0, expected, blockSize, blockSize);
            w.data(2, ByteBuffer.wrap(last)); // written, then zeroed: the zeros win
            w.zero(2, blockSize);
            Arrays.fill(expected, 2 * blockSize, 3 * blockSize, (byte) 0);
            w.commit(new byte[32]);
        }
        assertTrue(Files.size(journal) > 8 << 20, "journal of " + Files.size(journal) + " bytes");
        java.util.Optional<dev.standin.nativeio.NativeIo> io = nativeZeroing ? dev.standin.nativeio.NativeIo.tryLoad()
                : java.util.Optional.empty();
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false, io));
        assertTrue(Arrays.equals(expected, Files.readAllBytes(replica)), "replica differs from the records applied in order");
    }

    @Test
    void uncommittedJournalIsDiscarded() throws IOException {
        prepare(false);
        assertEquals(Journal.Recovery.DISCARDED, Journal.recover(journal, replica, false));
        assertEquals(oldDigest, Images.sha256(replica));
        assertFalse(Files.exists(journal));
        assertEquals(Journal.Recovery.NONE, Journal.recover(journal, replica, false));
    }

    @Test
    void journalCutAnywhereLeavesOldOrNewNeverAMix() throws IOException {
        prepare(true);
        byte[] whole = Files.readAllBytes(journal);
        Path pristine = dir.resolve("pristine.img");
        Files.copy(replica, pristine);
        int replayed = 0;
        for (int cut = 0; cut <= whole.length; cut += cut < whole.length - 200 ? 509 : 1) {
            Files.copy(pristine, replica, StandardCopyOption.REPLACE_EXISTING);
            Files.write(journal, Arrays.copyOf(whole, cut));
            Journal.Recovery r = Journal.recover(journal, replica, false);
            String digest = Images.sha256(replica);
            if (cut == whole.length) {
                assertEquals(Journal.Recovery.REPLAYED, r);
            }
            if (r == Journal.Recovery.REPLAYED) {
                replayed++;
                assertEquals(newDigest, digest, "cut at " + cut);
            } else {
                assertEquals(oldDigest, digest, "cut at " + cut);
            }
        }
        assertEquals(1, replayed);
    }

    @Test
    void journalOfAnotherVersionIsNeitherReplayedNorDiscarded() throws IOException {
        prepare(true);
        byte[] bytes = Files.readAllBytes(journal);
        int later = Journal.VERSION + 1;
        ByteBuffer.wrap(bytes).putShort(8, (short) later);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, 0, Journal.HEADER_LENGTH - 4);
        ByteBuffer.wrap(bytes).putInt(Journal.HEADER_LENGTH - 4, (int) crc.getValue());
        Files.write(journal, bytes);
        JournalException e = org.junit.jupiter.api.Assertions.assertThrows(JournalException.class,
                () -> Journal.recover(journal, replica, false));
        assertTrue(e.getMessage().contains("version " + later), e.getMessage());
        assertTrue(Files.exists(journal));
        assertEquals(oldDigest, Images.sha256(replica));
    }

    @Test
    void corruptRecordMakesTheJournalUncommitted() throws IOException {
        prepare(true);
        byte[] bytes = Files.readAllBytes(journal);
        bytes[Journal.HEADER_LENGTH + 20] ^= 0x40;
        Files.write(journal, bytes);
        assertEquals(Journal.Recovery.DISCARDED, Journal.recover(journal, replica, false));
        assertEquals(oldDigest, Images.sha256(replica));
        assertTrue(Files.notExists(journal));
    }
}
