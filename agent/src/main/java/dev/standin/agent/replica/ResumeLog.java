package dev.standin.agent.replica;

import dev.standin.delta.BlockSize;
import dev.standin.delta.Signatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * What an interrupted cycle already holds, so that the next attempt does not send it again
 * (docs/journal-format.md, "Resuming an interrupted cycle"): the first blocks of the target, in the
 * staging file of a first copy ({@code .NAME.standin-partial}) or in the uncommitted journal of
 * an update ({@code .NAME.standin-journal}). {@code .NAME.standin-resume} is an append-only log:
 * a header (magic {@code STRESUM3}, version, target length, block size, the digest of the basis
 * the cycle was computed against, CRC32C), then checkpoint records, each
 * {@code first u32, count u32, journal length u64, journal records u64, count × 12-byte signature
 * entries (weak sum, XXH3-64), CRC32C}. A log of another version (1: XXH128, 2: XXH64) is not
 * resumed from: the cycle starts over. A checkpoint is appended only after the blocks up to it are fdatasync'd; a torn
 * last record is ignored, so what the log claims is always on disk.
 */
public final class ResumeLog implements AutoCloseable {

    static final byte[] MAGIC = {'S', 'T', 'R', 'E', 'S', 'U', 'M', '3'};
    static final int VERSION = 3;
    private static final int ENTRY = SignatureEntries.ENTRY;
    private static final int HEADER = 8 + 4 + 8 + 4 + 32 + 4;
    private static final int RECORD_HEAD = 4 + 4 + 8 + 8;

    /**
     * A cycle that can be resumed: target blocks {@code [0, signatures.blockCount())} are held (in
     * the staging file, or in the journal's first {@code journalLength} bytes and
     * {@code journalRecords} records), for a delta against the basis with {@code basisDigest}.
     */
    public record Held(long targetLength, int blockSize, byte[] basisDigest, Signatures signatures, long journalLength,
            long journalRecords) {
        public long bytes() {
            return signatures.length();
        }
    }

    private final FileChannel channel;
    private int logged;

    private ResumeLog(FileChannel channel, int logged) {
        this.channel = channel;
        this.logged = logged;
    }

    public static Path pathFor(Path destination) {
        return destination.resolveSibling("." + destination.getFileName() + ".standin-resume");
    }

    /** Starts a new log for a cycle to a {@code targetLength}-byte image against the basis {@code basisDigest}. */
    static ResumeLog create(Path destination, long targetLength, int blockSize, byte[] basisDigest) throws IOException {
        FileChannel channel = SideFiles.create(pathFor(destination), false);
        write(channel, ByteBuffer.wrap(header(targetLength, blockSize, basisDigest)));
        return new ResumeLog(channel, 0);
    }

    /** The log's header, CRC32C included. */
    static byte[] header(long targetLength, int blockSize, byte[] basisDigest) {
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        header.put(MAGIC).putInt(VERSION).putLong(targetLength).putInt(blockSize).put(basisDigest);
        CRC32C crc = new CRC32C();
        crc.update(header.array(), 0, HEADER - 4);
        header.putInt((int) crc.getValue());
        return header.array();
    }

    /** A checkpoint record: blocks {@code [first, completed)} of {@code target} are durable. */
    static byte[] record(int first, int completed, Signatures target, long journalLength, long journalRecords) {
        int count = completed - first;
        ByteBuffer record = ByteBuffer.allocate(RECORD_HEAD + ENTRY * count + 4);
        record.putInt(first).putInt(count).putLong(journalLength).putLong(journalRecords);
        for (int i = first; i < completed; i++) {
            record.putInt(target.weak(i)).putLong(target.strong(i));
        }
        CRC32C crc = new CRC32C();
        crc.update(record.array(), 0, record.position());
        record.putInt((int) crc.getValue());
        return record.array();
    }

    /** Continues the log of {@code held}, truncating a torn tail. */
    static ResumeLog append(Path destination, Held held, long validLength) throws IOException {
        FileChannel channel = FileChannel.open(pathFor(destination), StandardOpenOption.WRITE);
        channel.truncate(validLength);
        channel.position(validLength);
        return new ResumeLog(channel, held.signatures().blockCount());
    }

    /**
     * Records that target blocks {@code [0, completed)} are durable, with these signatures; for an
     * update, the journal is then {@code journalLength} bytes of {@code journalRecords} records.
     */
    void checkpoint(int completed, Signatures target, long journalLength, long journalRecords) throws IOException {
        if (completed <= logged) {
            return;
        }
        write(channel, ByteBuffer.wrap(record(logged, completed, target, journalLength, journalRecords)));
        channel.force(false);
        logged = completed;
    }

    /** The log of {@code destination} and how many of its bytes are valid, if it describes a resumable copy. */
    public static Optional<Held> load(Path destination) {
        return read(destination).map(r -> r.held);
    }

    /** A log's content, and how many of its bytes hold it (a torn tail after them is ignored). */
    record Read(Held held, long validLength) {}

    /** Where a log's bytes come from: its file, or, in tests, an array. */
    interface Bytes {
        long size() throws IOException;

        /** Fills {@code b} from {@code position}; fails if the bytes end first. */
        void readFully(ByteBuffer b, long position) throws IOException;
    }

    private static Optional<Read> read(Path destination) {
        try (FileChannel in = FileChannel.open(pathFor(destination), StandardOpenOption.READ)) {
            return decode(new Bytes() {
                @Override
                public long size() throws IOException {
                    return in.size();
                }

                @Override
                public void readFully(ByteBuffer b, long position) throws IOException {
                    ResumeLog.readFully(in, b, position);
                }
            });
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty(); // unreadable: start the copy over, which is always correct
        }
    }

    /**
     * What a log holds: empty if its header is damaged or of another version; otherwise the
     * checkpoints up to the first that is torn, damaged or out of sequence. Never more than was
     * written, so resuming from it is always correct.
     */
    static Optional<Read> decode(Bytes in) throws IOException {
        long size = in.size();
        if (size < HEADER) {
            return Optional.empty();
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        in.readFully(header, 0);
        byte[] magic = new byte[8];
        header.flip().get(magic);
        CRC32C crc = new CRC32C();
        crc.update(header.array(), 0, HEADER - 4);
        if (!Arrays.equals(magic, MAGIC) || header.getInt() != VERSION) {
            return Optional.empty();
        }
        long targetLength = header.getLong();
        int blockSize = header.getInt();
        byte[] basisDigest = new byte[32];
        header.get(basisDigest);
        if (header.getInt() != (int) crc.getValue() || targetLength < 0) {
            return Optional.empty();
        }
        if (!BlockSize.isValid(blockSize) || BlockSize.blockCount(targetLength, blockSize) > Integer.MAX_VALUE - 8) {
            return Optional.empty();
        }
        Signatures all = new Signatures(targetLength, blockSize);
        int held = 0;
        long journalLength = 0;
        long journalRecords = 0;
        long position = HEADER;
        while (position + RECORD_HEAD + 4 <= size) {
            ByteBuffer head = ByteBuffer.allocate(RECORD_HEAD);
            in.readFully(head, position);
            int first = head.getInt(0);
            int count = head.getInt(4);
            if (first != held || count <= 0 || (long) first + count > all.blockCount()
                    || position + RECORD_HEAD + (long) ENTRY * count + 4 > size) {
                break;
            }
            ByteBuffer record = ByteBuffer.allocate(RECORD_HEAD + ENTRY * count + 4);
            in.readFully(record, position);
            CRC32C rc = new CRC32C();
            rc.update(record.array(), 0, record.capacity() - 4);
            if (record.getInt(record.capacity() - 4) != (int) rc.getValue()) {
                break;
            }
            record.position(RECORD_HEAD);
            for (int i = 0; i < count; i++) {
                all.set(first + i, record.getInt(), record.getLong());
            }
            held = first + count;
            journalLength = record.getLong(8);
            journalRecords = record.getLong(16);
            position += record.capacity();
        }
        long heldBytes = Math.min(targetLength, (long) held * blockSize);
        Signatures prefix = new Signatures(heldBytes, blockSize);
        for (int i = 0; i < held; i++) {
            prefix.copyFrom(all, i, i);
        }
        return Optional.of(new Read(new Held(targetLength, blockSize, basisDigest, prefix, journalLength,
                journalRecords), position));
    }

    static long validLength(Path destination) {
        return read(destination).map(Read::validLength).orElse(0L);
    }

    public static void delete(Path destination) throws IOException {
        Files.deleteIfExists(pathFor(destination));
    }

    private static void write(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    private static void readFully(FileChannel in, ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) {
            if (in.read(b, position + b.position()) < 0) {
                throw new IOException("resume log ended early");
            }
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
