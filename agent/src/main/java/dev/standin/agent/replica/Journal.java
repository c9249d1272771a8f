package dev.standin.agent.replica;

import dev.standin.delta.BlockSize;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.ZeroBlocks;
import dev.standin.nativeio.NativeFile;
import dev.standin.nativeio.NativeIo;
import dev.standin.nativeio.NativeException;
import dev.standin.nativeio.UnsupportedOperationIOException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The redo journal of one cycle (docs/journal-format.md): whole-block writes, recorded before the
 * replica is touched, then a commit record. Replaying a committed journal is idempotent, so a
 * crash while applying is mended by applying again; a journal without its commit record is
 * discarded, leaving the replica at its previous point.
 *
 * <p>Layout: a 68-byte header (magic, version, block size, target length, basis length, basis
 * digest, CRC32C), then records {@code DATA(block, length, bytes)}, {@code ZERO(block, length)}
 * and finally {@code COMMIT(record count, target digest)}, each closed by a CRC32C.
 */
public final class Journal {

    public static final int VERSION = 3;
    static final byte[] MAGIC = {'S', 'T', 'J', 'R', 'N', 'L', '3', '\n'};
    static final int HEADER_LENGTH = 68;
    static final byte DATA = 1;
    static final byte ZERO = 2;
    static final byte COMMIT = 3;

    /** What {@link #recover} found. */
    public enum Recovery {
        NONE, DISCARDED, REPLAYED,
        /** Not committed, kept: an interrupted cycle that the next one resumes (see {@link ResumeLog}). */
        HELD
    }

    private Journal() {}

    /** The file replica a journal beside it belongs to, if {@code file} is such a journal ({@link #pathFor}). */
    public static Optional<Path> replicaOf(Path file) {
        String name = file.getFileName().toString();
        if (!name.startsWith(".") || !name.endsWith(SUFFIX) || name.length() <= SUFFIX.length() + 1) {
            return Optional.empty();
        }
        return Optional.of(file.resolveSibling(name.substring(1, name.length() - SUFFIX.length())));
    }

    private static final String SUFFIX = ".standin-journal";

    /** Where the journal for {@code destination} lives: beside a file, in the state directory for a device. */
    public static Path pathFor(Path destination, boolean blockDevice, Path stateDirectory) {
        if (!blockDevice) {
            return destination.resolveSibling("." + destination.getFileName() + SUFFIX);
        }
        // One journal per device whatever the name used for it (/dev/vg/lv, /dev/dm-3): resolve
        // links; and a digest of the real path, because '/'→'_' alone lets /dev/a_b meet /dev/a/b.
        Path real;
        try {
            real = destination.toRealPath();
        } catch (IOException e) {
            real = destination.toAbsolutePath().normalize();
        }
        String text = real.toString();
        String name = text.replace('/', '_') + "-" + String.format("%08x", crc(text));
        return stateDirectory.resolve("journal").resolve(name + ".standin-journal");
    }

    private static long crc(String text) {
        CRC32C c = new CRC32C();
        c.update(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return c.getValue();
    }

    /** Writes a journal; the caller applies it with {@link #recover} after {@link #commit}. */
    static final class Writer implements AutoCloseable {
        private final Path path;
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
        private final CRC32C crc = new CRC32C();
        private final byte[] scratch = new byte[16];
        private long records;
        private Writeback writeback = Writeback.NONE;

        /** Continues an uncommitted journal after its last checkpoint: {@code validLength} bytes, {@code records} records. */
        static Writer resume(Path path, long validLength, long records) throws IOException {
            return new Writer(path, validLength, records);
        }

        private Writer(Path path, long validLength, long records) throws IOException {
            this.path = path;
            this.channel = FileChannel.open(path, StandardOpenOption.WRITE);
            channel.truncate(validLength);
            channel.position(validLength);
            this.records = records;
        }

        /** Starts the disk's writeback of each MiB as it is written ({@link Writeback}). */
        Writer writingBack(Optional<NativeIo> io) {
            writeback = Writeback.of(path, io);
            return this;
        }

        /** Makes every record so far durable; returns the journal's length and record count at this point. */
        long[] sync() throws IOException {
            flush();
            channel.force(false);
            return new long[] {channel.position(), records};
        }

        Writer(Path path, int blockSize, long targetLength, long basisLength, byte[] basisDigest) throws IOException {
            this.path = path;
            // The replica's own directory, or the state directory's journal/: either may be a link an
            // administrator made (/srv/replicas -> /data/replicas); the journal file itself is not.
            Files.createDirectories(path.toAbsolutePath().getParent());
            this.channel = SideFiles.create(path, false);
            ByteBuffer h = ByteBuffer.allocate(HEADER_LENGTH);
            h.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(blockSize)
                    .putLong(targetLength).putLong(basisLength).put(basisDigest);
            crc.update(h.array(), 0, h.position());
            h.putInt((int) crc.getValue()).flip();
            buffer.put(h);
        }

        void data(int block, ByteBuffer content) throws IOException {
            int length = content.remaining();
            room(1 + 8 + length + 4);
            crc.reset();
            ByteBuffer head = ByteBuffer.wrap(scratch, 0, 9).put(DATA).putInt(block).putInt(length);
            crc.update(scratch, 0, 9);
            crc.update(content.duplicate());
            buffer.put(head.flip());
            if (length > buffer.remaining()) {
                flush();
                while (content.hasRemaining()) {
                    channel.write(content);
                }
            } else {
                buffer.put(content);
            }
            room(4);
            buffer.putInt((int) crc.getValue());
            records++;
        }

        void zero(int block, int length) throws IOException {
            room(1 + 8 + 4);
            crc.reset();
            ByteBuffer.wrap(scratch, 0, 9).put(ZERO).putInt(block).putInt(length);
            crc.update(scratch, 0, 9);
            buffer.put(scratch, 0, 9).putInt((int) crc.getValue());
            records++;
        }

        /** Makes the records durable, then appends and syncs the commit record. */
        void commit(byte[] targetDigest) throws IOException {
            flush();
            channel.force(false);
            ByteBuffer c = ByteBuffer.allocate(1 + 8 + ImageDigest.LENGTH + 4);
            c.put(COMMIT).putLong(records).put(targetDigest);
            crc.reset();
            crc.update(c.array(), 0, c.position());
            c.putInt((int) crc.getValue()).flip();
            while (c.hasRemaining()) {
                channel.write(c);
            }
            channel.force(false);
            Durability.syncDirectory(path.toAbsolutePath().getParent());
        }

        private void room(int bytes) throws IOException {
            if (buffer.remaining() < bytes) {
                flush();
            }
        }

        private void flush() throws IOException {
            long from = channel.position();
            buffer.flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            buffer.clear();
            writeback.written(from, channel.position() - from);
        }

        @Override
        public void close() throws IOException {
            writeback.close();
            channel.close();
        }
    }

    /**
     * Brings {@code destination} to a committed state: replays a journal that has its commit record,
     * discards one that does not, and deletes it either way. Safe to call when there is none.
     */
    public static Recovery recover(Path journal, Path destination, boolean blockDevice) throws IOException {
        return recover(journal, destination, blockDevice, Optional.empty());
    }

    /**
     * As {@link #recover(Path, Path, boolean)}; with the native library, zero blocks become holes
     * in a file replica (punch hole) and are zeroed by the device itself on a block device
     * (BLKZEROOUT), instead of being written as zeros.
     */
    public static Recovery recover(Path journal, Path destination, boolean blockDevice, Optional<NativeIo> io)
            throws IOException {
        return recover(journal, destination, blockDevice, io, false);
    }

    /**
     * As {@link #recover(Path, Path, boolean, Optional)}; with {@code keepUncommitted}, a journal
     * without its commit record is left in place ({@link Recovery#HELD}) for the next cycle to
     * resume. The replica is untouched either way: only a committed journal is ever replayed.
     */
    public static Recovery recover(Path journal, Path destination, boolean blockDevice, Optional<NativeIo> io,
            boolean keepUncommitted) throws IOException {
        return recover(journal, destination, blockDevice, io, keepUncommitted, RangeRecorder.LIMIT, Optional.empty());
    }

    /**
     * Replays the journal its writer has just committed; {@code captured} is the undo data of the
     * replica's newest point that the writer captured as it wrote (see {@link UndoFile.Capture}),
     * which is then not captured again.
     */
    static Recovery replayCommitted(Path journal, Path destination, boolean blockDevice, Optional<NativeIo> io,
            Optional<UndoFile.Captured> captured) throws IOException {
        return recover(journal, destination, blockDevice, io, false, RangeRecorder.LIMIT, captured);
    }

    /** As above, remembering at most {@code rememberedRanges} record ranges between parses (tests lower it). */
    static Recovery recover(Path journal, Path destination, boolean blockDevice, Optional<NativeIo> io,
            boolean keepUncommitted, int rememberedRanges) throws IOException {
        return recover(journal, destination, blockDevice, io, keepUncommitted, rememberedRanges, Optional.empty());
    }

    private static Recovery recover(Path journal, Path destination, boolean blockDevice, Optional<NativeIo> io,
            boolean keepUncommitted, int rememberedRanges, Optional<UndoFile.Captured> captured) throws IOException {
        // Every replay goes through the replica's recovery points, if it has any (docs/points-format.md).
        PointStore points = PointStore.forJournal(journal, destination, blockDevice, io);
        if (!Files.exists(journal)) {
            points.settle(); // a crash after the journal was deleted, before its point was settled
            return Recovery.NONE;
        }
        Parsed parsed;
        RangeRecorder recorded = new RangeRecorder(rememberedRanges);
        try (FileChannel in = FileChannel.open(journal, StandardOpenOption.READ)) {
            parsed = parse(in, recorded);
        }
        if (!parsed.committed() && keepUncommitted) {
            points.settle();
            return Recovery.HELD;
        }
        if (!parsed.committed()) {
            Files.delete(journal);
            Durability.syncDirectory(journal.toAbsolutePath().getParent());
            points.settle();
            return Recovery.DISCARDED;
        }
        // Before the first write: the point the replica is at keeps the bytes this journal overwrites.
        points.beforeReplay(parsed.targetLength(), parsed.blockSize(), parsed.targetDigest(), ranges -> {
            if (recorded.complete()) {
                recorded.forEach(ranges);
                return;
            }
            try (FileChannel in = FileChannel.open(journal, StandardOpenOption.READ)) {
                parse(in, new RecordVisitor() {
                    @Override
                    public void write(long position, ByteBuffer content) throws IOException {
                        ranges.range(position, content.remaining());
                    }

                    @Override
                    public void zero(long position, int length) throws IOException {
                        ranges.range(position, length);
                    }
                });
            }
        }, captured);
        try (FileChannel in = FileChannel.open(journal, StandardOpenOption.READ);
                RandomAccessFile out = new RandomAccessFile(destination.toFile(), "rw");
                NativeFile zeroer = io.isPresent() ? io.get().open(destination, true) : null) {
            if (!blockDevice) {
                out.setLength(parsed.targetLength());
            }
            Applier applier = new Applier(out.getChannel(), zeroer, blockDevice);
            parse(in, applier);
            applier.flush();
            out.getChannel().force(true);
        }
        Files.delete(journal);
        Durability.syncDirectory(journal.toAbsolutePath().getParent());
        points.settle();
        return Recovery.REPLAYED;
    }

    record Parsed(boolean committed, long targetLength, int blockSize, byte[] targetDigest) {
        static Parsed notCommitted(long targetLength) {
            return new Parsed(false, targetLength, 0, null);
        }
    }

    /** What a parse does with each valid record. */
    interface RecordVisitor {
        void write(long position, ByteBuffer content) throws IOException;

        void zero(long position, int length) throws IOException;
    }

    /**
     * Reads a journal record by record, checking every checksum; with {@code apply} non-null it also
     * writes each record there. Returns whether a valid commit record ends it. A torn tail (a crash
     * while writing) reads as "not committed", never as an error.
     */
    static Parsed parse(ReadableByteChannel in, RecordVisitor apply) throws IOException {
        JournalReader r = new JournalReader(in);
        r.nextRecord();
        ByteBuffer header = r.read(HEADER_LENGTH);
        if (header == null || !Arrays.equals(bytes(header, 0, 6), Arrays.copyOf(MAGIC, 6))) {
            return Parsed.notCommitted(0);
        }
        if (!Arrays.equals(bytes(header, 0, 8), MAGIC)) {
            throw new JournalException("journal layout '" + new String(bytes(header, 0, 7), java.nio.charset.StandardCharsets.US_ASCII)
                    + "' is not one this build can replay; upgrade standin or remove the journal by hand");
        }
        CRC32C crc = new CRC32C();
        crc.update(header.duplicate().position(0).limit(HEADER_LENGTH - 4));
        if ((int) crc.getValue() != header.getInt(HEADER_LENGTH - 4)) {
            return Parsed.notCommitted(0); // a header torn by a crash: nothing was committed
        }
        int version = header.getShort(8) & 0xffff;
        int flags = header.getShort(10) & 0xffff;
        int blockSize = header.getInt(12);
        long targetLength = header.getLong(16);
        if (version != VERSION || flags != 0 || Integer.bitCount(blockSize) != 1 || blockSize < BlockSize.MIN
                || blockSize > BlockSize.MAX || targetLength < 0) {
            // Written by another version (a downgrade?): it may be committed, so never discard it.
            throw new JournalException("journal version " + version + " (flags " + flags + ", block size " + blockSize
                    + ") is not one this build can replay; upgrade standin or remove the journal by hand");
        }
        long records = 0;
        while (true) {
            r.nextRecord();
            ByteBuffer head = r.read(1);
            if (head == null) {
                return Parsed.notCommitted(targetLength);
            }
            byte type = head.get(0);
            crc.reset();
            if (type == COMMIT) {
                ByteBuffer body = r.read(8 + ImageDigest.LENGTH + 4);
                if (body == null) {
                    return Parsed.notCommitted(targetLength);
                }
                crc.update(new byte[] {COMMIT});
                crc.update(body.duplicate().limit(8 + ImageDigest.LENGTH));
                boolean valid = (int) crc.getValue() == body.getInt(8 + ImageDigest.LENGTH) && body.getLong(0) == records;
                return new Parsed(valid, targetLength, blockSize, bytes(body, 8, 8 + ImageDigest.LENGTH));
            }
            if (type != DATA && type != ZERO) {
                return Parsed.notCommitted(targetLength);
            }
            ByteBuffer fields = r.read(8);
            if (fields == null) {
                return Parsed.notCommitted(targetLength);
            }
            int block = fields.getInt(0);
            int length = fields.getInt(4);
            if (block < 0 || length <= 0 || length > blockSize || (long) block * blockSize + length > targetLength) {
                return Parsed.notCommitted(targetLength);
            }
            crc.update(new byte[] {type});
            crc.update(fields.duplicate());
            ByteBuffer data = null;
            if (type == DATA) {
                data = r.read(length);
                if (data == null) {
                    return Parsed.notCommitted(targetLength);
                }
                crc.update(data.duplicate());
            }
            ByteBuffer sum = r.read(4);
            if (sum == null || (int) crc.getValue() != sum.getInt(0)) {
                return Parsed.notCommitted(targetLength);
            }
            if (apply != null) {
                long position = (long) block * blockSize;
                if (data != null) {
                    apply.write(position, data);
                } else {
                    apply.zero(position, length);
                }
            }
            records++;
        }
    }

    /**
     * The ranges of a journal's records, noted by the parse that validates it, so that capturing
     * the undo data of a recovery point need not parse the journal a second time (31 ms of a
     * 41 MiB commit). Up to {@link #LIMIT} records (12 MiB); past that the journal is parsed again.
     */
    private static final class RangeRecorder implements RecordVisitor {
        static final int LIMIT = 1 << 20;
        private final int limit;
        private long[] positions = new long[1024];
        private int[] lengths = new int[1024];
        private int count;
        private boolean overflowed;

        RangeRecorder(int limit) {
            this.limit = limit;
        }

        @Override
        public void write(long position, ByteBuffer content) {
            note(position, content.remaining());
        }

        @Override
        public void zero(long position, int length) {
            note(position, length);
        }

        private void note(long position, int length) {
            if (overflowed || count == limit) {
                overflowed = true;
                return;
            }
            if (count == positions.length) {
                positions = Arrays.copyOf(positions, count * 2);
                lengths = Arrays.copyOf(lengths, count * 2);
            }
            positions[count] = position;
            lengths[count] = length;
            count++;
        }

        boolean complete() {
            return !overflowed;
        }

        void forEach(UndoFile.RangeConsumer consumer) throws IOException {
            for (int i = 0; i < count; i++) {
                consumer.range(positions[i], lengths[i]);
            }
        }
    }

    /**
     * Writes replayed records to the replica, in their order. Records for blocks that follow each
     * other go out as one write, and zeroed blocks that follow each other as one hole punched (a
     * 1 % change arrives in runs of 1-16 blocks: one call per block made the replay of a journal
     * that zeroes 33 MiB take 0.25 s).
     */
    private static final class Applier implements RecordVisitor {
        /** The longest run of zeros punched at once, so that a run's length stays far from overflow. */
        private static final long MAX_ZERO_RUN = 1L << 30;
        private final CoalescingWriter out;
        private final NativeFile zeroer;
        private final boolean blockDevice;
        private boolean zeroingSupported = true;
        private final AdjacentRuns zeros = new AdjacentRuns(MAX_ZERO_RUN, this::zeroRun);

        Applier(FileChannel out, NativeFile zeroer, boolean blockDevice) {
            this.out = new CoalescingWriter(out);
            this.zeroer = zeroer;
            this.blockDevice = blockDevice;
        }

        @Override
        public void write(long position, ByteBuffer content) throws IOException {
            zeros.flush(); // keep the journal's order where the two overlap
            out.write(position, content);
        }

        @Override
        public void zero(long position, int length) throws IOException {
            out.flush();
            zeros.add(position, length);
        }

        /** Writes what is gathered: before the replica is synced. */
        void flush() throws IOException {
            zeros.flush();
            out.flush();
        }

        private void zeroRun(long position, long length) throws IOException {
            // BLKZEROOUT takes whole 512-byte sectors only (a short last block is written instead).
            boolean aligned = !blockDevice || (position % 512 == 0 && length % 512 == 0);
            if (zeroer != null && zeroingSupported && aligned) {
                try {
                    if (blockDevice) {
                        zeroer.zeroOut(position, length);
                    } else {
                        zeroer.punchHole(position, length);
                    }
                    return;
                } catch (UnsupportedOperationIOException e) {
                    zeroingSupported = false; // this filesystem or device cannot: write zeros
                } catch (NativeException e) {
                    // Any other refusal: zeros written by hand are always correct, only slower.
                }
            }
            for (long done = 0; done < length; ) {
                int n = (int) Math.min(BlockSize.MAX, length - done);
                out.write(position + done, ZeroBlocks.zeros(n));
                done += n;
            }
            out.flush();
        }
    }

    private static byte[] bytes(ByteBuffer b, int from, int to) {
        byte[] out = new byte[to - from];
        b.duplicate().position(from).get(out);
        return out;
    }

    /**
     * Sequential reads of exact lengths; null at a short read (the torn tail of a crash). The file
     * is read 1 MiB at a time: reading each record's four fields with their own read calls took
     * ~40,000 system calls per parse of a 41 MiB journal. A record's parts stay valid together
     * until the next {@link #nextRecord}: refills keep the bytes from the record's start.
     */
    private static final class JournalReader {
        private static final int READ_AHEAD = 1 << 20;
        private final ReadableByteChannel in;
        /** Between position and limit: read from the file, not handed out yet. */
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(READ_AHEAD + BlockSize.MAX + 128).limit(0);
        private int recordStart;
        private boolean atEnd;

        JournalReader(ReadableByteChannel in) {
            this.in = in;
        }

        /** Starts a new record: regions handed out before may be reused. */
        void nextRecord() {
            recordStart = buffer.position();
        }

        ByteBuffer read(int length) throws IOException {
            if (buffer.remaining() < length && !fill(length)) {
                return null;
            }
            int start = buffer.position();
            buffer.position(start + length);
            return buffer.duplicate().position(start).limit(start + length).slice();
        }

        /** Moves the current record to the front and reads until {@code length} bytes follow the position. */
        private boolean fill(int length) throws IOException {
            int kept = buffer.position() - recordStart;
            buffer.position(recordStart);
            buffer.compact(); // [recordStart, limit) now starts at 0; position = what it holds
            recordStart = 0;
            while (buffer.position() < kept + length && !atEnd) {
                if (in.read(buffer) < 0) {
                    atEnd = true;
                }
            }
            buffer.limit(buffer.position()).position(kept);
            return buffer.remaining() >= length;
        }
    }
}
