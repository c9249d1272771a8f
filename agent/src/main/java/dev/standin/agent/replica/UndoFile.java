package dev.standin.agent.replica;

import dev.standin.delta.ZeroBlocks;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The undo data of a point (docs/points-format.md, "Undo file"): the bytes that the next cycle's
 * journal was about to overwrite, captured from the replica before its first write. Applied to
 * the next point's image, it gives this point's image back.
 *
 * <p>Layout: a 40-byte header (magic, version, point id, length before and after), then
 * {@code DATA(offset, length, bytes)} and {@code ZERO(offset, length)} records, then an
 * {@code END(record count)} record, each closed by a CRC32C. A file without a valid END record is
 * incomplete: a crash interrupted the capture, and the replica had not been written yet.
 */
final class UndoFile {

    static final byte[] MAGIC = {'S', 'T', 'U', 'N', 'D', 'O', '1', '\n'};
    static final int VERSION = 1;
    static final int HEADER = 40;
    static final byte DATA = 1;
    static final byte ZERO = 2;
    static final byte END = 3;
    /** Zero runs are merged up to this length, so a record's u32 length never overflows. */
    private static final long MAX_ZERO_RUN = 1L << 30;
    private static final int CHUNK = 1 << 20;

    private UndoFile() {}

    /** A byte range of the replica that a journal is about to write or zero. */
    @FunctionalInterface
    interface RangeConsumer {
        void range(long offset, long length) throws IOException;
    }

    /** Calls back once for each range the journal will write, in journal order. */
    @FunctionalInterface
    interface Ranges {
        void forEach(RangeConsumer consumer) throws IOException;
    }

    /** What an undo file is applied to: the image being materialised. */
    interface Target {
        void setLength(long length) throws IOException;

        void write(long offset, ByteBuffer data) throws IOException;

        void zero(long offset, long length) throws IOException;
    }

    /** The header of a complete, intact undo file. */
    record Header(long pointId, long lengthBefore, long lengthAfter) {}

    /**
     * Captures into {@code undo} the current bytes of {@code replica} in every range the journal
     * will write (clipped to {@code lengthBefore}) and, if the image shrinks, in its cut-off tail;
     * then closes it with the END record and makes it durable. All-zero pre-images (holes, mostly)
     * are recorded as ZERO records: 17 bytes per run instead of the zeros.
     */
    static void capture(Path undo, long pointId, Path replica, long lengthBefore, long lengthAfter,
            Ranges ranges) throws IOException {
        try (Capture capture = new Capture(undo, pointId, replica, lengthBefore, lengthAfter, Optional.empty())) {
            ranges.forEach(capture::range);
            capture.finish();
        }
    }

    /** What a finished {@link Capture} made: the complete, durable undo file of point {@code pointId}. */
    record Captured(long pointId, long lengthBefore, long lengthAfter) {}

    /**
     * A capture fed range by range, in journal order. The journal's writer feeds it as it writes
     * each record, so that the pre-images are copied, and go to the disk, while the cycle is still
     * receiving: the commit then only closes the file. (Captured at the commit, the 41 MiB of a
     * 1 % cycle of a 4 GiB replica took 0.14 s of its 1.0 s here, most of it waiting for the disk.)
     * The replica must not be written before {@link #finish}, which the journal guarantees: nothing
     * touches it before the commit record. Closing a capture that did not finish deletes its file.
     * A capture reads the replica through a descriptor of its own.
     */
    static final class Capture implements AutoCloseable {
        private final Path path;
        private final long pointId;
        private final FileChannel replica;
        private final long lengthBefore;
        private final long lengthAfter;
        private final Writer writer;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK);
        /** Records that follow each other are read as one range. */
        private final AdjacentRuns ranges = new AdjacentRuns(Long.MAX_VALUE, this::copy);
        private boolean finished;

        Capture(Path path, long pointId, Path replica, long lengthBefore, long lengthAfter, Optional<NativeIo> io)
                throws IOException {
            this.path = path;
            this.pointId = pointId;
            this.lengthBefore = lengthBefore;
            this.lengthAfter = lengthAfter;
            this.replica = FileChannel.open(replica, StandardOpenOption.READ);
            try {
                this.writer = new Writer(path, pointId, lengthBefore, lengthAfter, io);
            } catch (IOException | RuntimeException e) {
                this.replica.close();
                throw e;
            }
        }

        /** The journal is about to write or zero {@code [offset, offset + length)}. */
        void range(long offset, long length) throws IOException {
            ranges.add(offset, length);
        }

        /** Adds the cut-off tail, closes the file with its END record and makes it durable. */
        Captured finish() throws IOException {
            ranges.flush();
            if (lengthAfter < lengthBefore) {
                copy(lengthAfter, lengthBefore - lengthAfter);
            }
            writer.finish();
            Durability.syncDirectory(path.toAbsolutePath().getParent());
            finished = true;
            return new Captured(pointId, lengthBefore, lengthAfter);
        }

        private void copy(long offset, long length) throws IOException {
            long end = Math.min(offset + length, lengthBefore);
            for (long pos = offset; pos < end; ) {
                int n = (int) Math.min(CHUNK, end - pos);
                buffer.clear().limit(n);
                readFully(replica, buffer, pos);
                buffer.flip();
                if (ZeroBlocks.isZero(buffer, 0, n)) {
                    writer.zero(pos, n);
                } else {
                    writer.data(pos, buffer);
                }
                pos += n;
            }
        }

        @Override
        public void close() throws IOException {
            try (FileChannel r = replica; Writer w = writer) {
                // both closed, the writer first
            } finally {
                if (!finished) {
                    // Incomplete, so never trusted; removed now rather than by the next pruning.
                    Files.deleteIfExists(path);
                }
            }
        }
    }

    private static void readFully(FileChannel in, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = in.read(buffer, position);
            if (n < 0) {
                throw new IOException("replica ended at " + position + ", before the length recorded for its point");
            }
            position += n;
        }
    }

    private static final class Writer implements AutoCloseable {
        private final FileChannel out;
        private final CRC32C crc = new CRC32C();
        private final ByteBuffer head = ByteBuffer.allocate(13);
        /** Records are gathered here: one write per 2 MiB instead of three per 4 KiB block. */
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(2 * CHUNK + 64);
        /** Pages go to the disk as they are written: the fsync at the commit waits for the last few. */
        private final Writeback writeback;
        private long records;
        /** Adjacent zero ranges become one record. */
        private final AdjacentRuns zeros = new AdjacentRuns(MAX_ZERO_RUN, this::zeroRecord);

        Writer(Path path, long pointId, long lengthBefore, long lengthAfter, Optional<NativeIo> io)
                throws IOException {
            out = SideFiles.create(path, false);
            writeback = Writeback.of(path, io);
            ByteBuffer h = ByteBuffer.allocate(HEADER);
            h.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putLong(pointId).putLong(lengthBefore)
                    .putLong(lengthAfter);
            crc.update(h.array(), 0, h.position());
            h.putInt((int) crc.getValue()).flip();
            writeAll(h);
        }

        void data(long offset, ByteBuffer content) throws IOException {
            zeros.flush();
            head.clear().put(DATA).putLong(offset).putInt(content.remaining()).flip();
            crc.reset();
            crc.update(head.duplicate());
            crc.update(content.duplicate());
            room(13 + content.remaining() + 4);
            buffer.put(head).put(content).putInt((int) crc.getValue());
            records++;
        }

        void zero(long offset, long length) throws IOException {
            zeros.add(offset, length);
        }

        private void zeroRecord(long offset, long length) throws IOException {
            ByteBuffer r = ByteBuffer.allocate(17).put(ZERO).putLong(offset).putInt((int) length);
            crc.reset();
            crc.update(r.array(), 0, 13);
            r.putInt((int) crc.getValue()).flip();
            room(17);
            buffer.put(r);
            records++;
        }

        /** Appends the END record after making every record durable, then makes it durable. */
        void finish() throws IOException {
            zeros.flush();
            flush();
            // Records first: an END on disk must imply every record before it is on disk too.
            out.force(false);
            ByteBuffer e = ByteBuffer.allocate(13).put(END).putLong(records);
            crc.reset();
            crc.update(e.array(), 0, 9);
            e.putInt((int) crc.getValue()).flip();
            writeAll(e);
            out.force(false);
        }

        /** Writes out what is gathered if fewer than {@code bytes} are free. */
        private void room(int bytes) throws IOException {
            if (buffer.remaining() < bytes) {
                flush();
            }
        }

        private void flush() throws IOException {
            long from = out.position();
            writeAll(buffer.flip());
            buffer.clear();
            writeback.written(from, out.position() - from);
        }

        private void writeAll(ByteBuffer b) throws IOException {
            while (b.hasRemaining()) {
                out.write(b);
            }
        }

        @Override
        public void close() throws IOException {
            try (Writeback w = writeback) {
                out.close();
            }
        }
    }

    /** An undo file's bytes, readable from the start as often as asked: the file, or in tests an array. */
    @FunctionalInterface
    interface Source {
        ReadableByteChannel open() throws IOException;
    }

    private static Source of(Path undo) {
        return () -> FileChannel.open(undo, StandardOpenOption.READ);
    }

    /** Checks the whole file (every CRC, the END record) and returns its header. */
    static Header check(Path undo) throws IOException {
        return read(of(undo), undo.toString(), null);
    }

    /** Applies a complete undo file to {@code target}: its length first, then the pre-images. */
    static Header apply(Path undo, Target target) throws IOException {
        return apply(of(undo), undo.toString(), target);
    }

    /** The same for any source; {@code undo} names it in messages. */
    static Header apply(Source source, String undo, Target target) throws IOException {
        read(source, undo, null); // never half-apply a damaged file
        return read(source, undo, target);
    }

    private static Header read(Source source, String undo, Target target) throws IOException {
        try (ReadableByteChannel in = source.open()) {
            ByteBuffer h = readExactly(in, HEADER, undo, "header");
            if (!Arrays.equals(Arrays.copyOf(h.array(), 6), Arrays.copyOf(MAGIC, 6))) {
                throw damaged(undo, "no STUNDO magic");
            }
            if (!Arrays.equals(Arrays.copyOf(h.array(), 8), MAGIC)) {
                throw new PointFormatException("undo file " + undo + " has layout '"
                        + new String(h.array(), 0, 7, StandardCharsets.US_ASCII) + "', not one this build knows", true);
            }
            CRC32C crc = new CRC32C();
            crc.update(h.array(), 0, HEADER - 4);
            if ((int) crc.getValue() != h.getInt(HEADER - 4)) {
                throw damaged(undo, "header CRC32C mismatch");
            }
            int version = h.getShort(8) & 0xffff;
            if (version != VERSION) {
                throw new PointFormatException("undo file " + undo + " is version " + version
                        + ", not one this build knows", true);
            }
            Header header = new Header(h.getLong(12), h.getLong(20), h.getLong(28));
            if (target != null) {
                target.setLength(header.lengthBefore());
            }
            long records = 0;
            while (true) {
                ByteBuffer type = readExactly(in, 1, undo, "record");
                crc.reset();
                if (type.get(0) == END) {
                    ByteBuffer e = readExactly(in, 12, undo, "END record");
                    crc.update(new byte[] {END});
                    crc.update(e.array(), 0, 8);
                    if ((int) crc.getValue() != e.getInt(8) || e.getLong(0) != records) {
                        throw damaged(undo, "END record CRC32C or count mismatch");
                    }
                    return header;
                }
                if (type.get(0) != DATA && type.get(0) != ZERO) {
                    throw damaged(undo, "unknown record type " + type.get(0) + " after " + records + " records");
                }
                ByteBuffer fields = readExactly(in, 12, undo, "record");
                long offset = fields.getLong(0);
                long length = fields.getInt(8) & 0xffffffffL;
                if (offset < 0 || length == 0 || offset + length > header.lengthBefore()
                        || (type.get(0) == DATA && length > CHUNK)) {
                    throw damaged(undo, "record " + records + " out of range");
                }
                crc.update(type.array(), 0, 1);
                crc.update(fields.array(), 0, 12);
                ByteBuffer data = null;
                if (type.get(0) == DATA) {
                    data = readExactly(in, (int) length, undo, "DATA record");
                    crc.update(data.array(), 0, (int) length);
                }
                if ((int) crc.getValue() != readExactly(in, 4, undo, "record").getInt(0)) {
                    throw damaged(undo, "record " + records + " CRC32C mismatch");
                }
                if (target != null) {
                    if (data != null) {
                        target.write(offset, data);
                    } else {
                        target.zero(offset, length);
                    }
                }
                records++;
            }
        }
    }

    private static ByteBuffer readExactly(ReadableByteChannel in, int length, String undo, String what) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (in.read(b) < 0) {
                throw damaged(undo, "it ends inside a " + what + " (incomplete)");
            }
        }
        return b.flip();
    }

    private static PointFormatException damaged(String undo, String why) {
        return new PointFormatException("undo file " + undo + " is damaged: " + why, false);
    }
}
