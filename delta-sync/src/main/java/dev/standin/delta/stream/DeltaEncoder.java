package dev.standin.delta.stream;

import dev.standin.delta.DeltaOp;
import dev.standin.delta.ImageDigest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Writes a delta stream (docs/delta-format.md): a header, then frames of encoded ops, each frame
 * compressed on its own and checksummed, then an end frame with the target's digest.
 *
 * <p>Adjacent same, zero and copy ops are merged across calls, so callers may feed ops exactly as
 * matching produced them. Not thread-safe. {@link #finish} or {@link #close} releases the
 * compressor's native memory.
 */
public final class DeltaEncoder implements AutoCloseable {

    private static final int MAX_OP_HEADER = 1 + 10 + 10;
    /** A literal is split rather than started with less room than this left in the frame. */
    private static final int MIN_LITERAL_PIECE = 4096;

    private final OutputStream out;
    private final DeltaHeader header;
    private final Compression compression;
    private final Compression.FrameCompressor compressor;
    private final ByteBuffer payload = ByteBuffer.allocate(DeltaFormat.MAX_FRAME_PAYLOAD);
    private final ByteBuffer frameHeader = ByteBuffer.allocate(DeltaFormat.FRAME_HEADER_LENGTH);
    private final CRC32C crc = new CRC32C();

    private DeltaOp pending;
    private long frameOffset;
    private long offset;
    private int sequence;
    private long opCount;
    private long bytesWritten;
    private boolean finished;

    public DeltaEncoder(OutputStream out, DeltaHeader header, Compression compression) throws IOException {
        this.out = out;
        this.header = header;
        this.compression = compression;
        this.compressor = compression.newCompressor();
        ByteBuffer h = ByteBuffer.allocate(DeltaFormat.STREAM_HEADER_LENGTH);
        h.put(DeltaFormat.STREAM_MAGIC)
                .putShort((short) DeltaFormat.VERSION)
                .putShort((short) 0)
                .putInt(header.blockSize())
                .putLong(header.targetLength())
                .putLong(header.basisLength())
                .put(header.basisDigest());
        crc.reset();
        crc.update(h.array(), 0, h.position());
        h.putInt((int) crc.getValue());
        write(h.array(), h.position());
    }

    public DeltaHeader header() {
        return header;
    }

    /** Adds the next op; ops must cover the target in order. */
    public void add(DeltaOp op) throws IOException {
        if (finished) {
            throw new IllegalStateException("stream already finished");
        }
        long expected = pending != null ? pending.end() : offset;
        if (op.offset() != expected) {
            throw new IllegalArgumentException("op at " + op.offset() + " but the stream is at " + expected);
        }
        if (op.end() > header.targetLength()) {
            throw new IllegalArgumentException("op ends at " + op.end() + " past the target's " + header.targetLength());
        }
        if (pending != null) {
            DeltaOp merged = DeltaOp.merge(pending, op);
            if (merged != null) {
                pending = merged;
                return;
            }
            encode(pending);
            pending = null;
        }
        if (op instanceof DeltaOp.Literal literal) {
            encodeLiteral(literal.data().duplicate());
        } else {
            pending = op;
        }
    }

    /** Flushes the last frame and writes the end frame carrying the target's digest. */
    public void finish(byte[] targetDigest) throws IOException {
        if (targetDigest.length != ImageDigest.LENGTH) {
            throw new IllegalArgumentException("digest must be " + ImageDigest.LENGTH + " bytes");
        }
        if (pending != null) {
            encode(pending);
            pending = null;
        }
        if (offset != header.targetLength()) {
            throw new IllegalStateException("ops cover " + offset + " of " + header.targetLength() + " bytes");
        }
        flushFrame();
        ByteBuffer end = ByteBuffer.allocate(DeltaFormat.END_PAYLOAD_LENGTH);
        end.putLong(header.targetLength()).putLong(opCount).put(targetDigest);
        writeFrame(DeltaFormat.FRAME_END, end.array(), end.position());
        out.flush();
        finished = true;
        compressor.close();
    }

    /** Releases the compressor; a stream not finished stays unfinished (a receiver refuses it). */
    @Override
    public void close() {
        compressor.close();
    }

    /** Bytes of stream written so far, headers included. */
    public long bytesWritten() {
        return bytesWritten;
    }

    private void encode(DeltaOp op) throws IOException {
        room(MAX_OP_HEADER);
        if (op instanceof DeltaOp.Same) {
            payload.put((byte) DeltaFormat.OP_SAME);
            Varint.put(payload, op.length());
        } else if (op instanceof DeltaOp.Zero) {
            payload.put((byte) DeltaFormat.OP_ZERO);
            Varint.put(payload, op.length());
        } else if (op instanceof DeltaOp.Copy copy) {
            payload.put((byte) DeltaFormat.OP_COPY);
            Varint.put(payload, copy.basisOffset());
            Varint.put(payload, copy.length());
        } else {
            throw new AssertionError(op);
        }
        advance(op.length());
    }

    private void encodeLiteral(ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            if (payload.remaining() < MAX_OP_HEADER + Math.min(MIN_LITERAL_PIECE, data.remaining())) {
                flushFrame();
            }
            int piece = Math.min(data.remaining(), payload.remaining() - MAX_OP_HEADER);
            payload.put((byte) DeltaFormat.OP_LITERAL);
            Varint.put(payload, piece);
            payload.put(data.slice(data.position(), piece));
            data.position(data.position() + piece);
            advance(piece);
        }
    }

    private void advance(long length) {
        if (payload.position() == 0) {
            throw new AssertionError("op encoded into an empty frame");
        }
        offset += length;
        opCount++;
    }

    private void room(int bytes) throws IOException {
        if (payload.remaining() < bytes) {
            flushFrame();
        }
    }

    /** Writes the buffered ops as one frame; the next frame starts where they ended. */
    private void flushFrame() throws IOException {
        if (payload.position() == 0) {
            return;
        }
        writeFrame(DeltaFormat.FRAME_OPS, payload.array(), payload.position());
        payload.clear();
        frameOffset = offset;
    }

    private void writeFrame(int type, byte[] raw, int rawLength) throws IOException {
        byte[] stored = compressor.compress(raw, rawLength);
        Compression codec = stored != null ? compression : Compression.NONE;
        int storedLength = stored != null ? stored.length : rawLength;
        frameHeader.clear();
        frameHeader.putInt(DeltaFormat.FRAME_MAGIC)
                .put((byte) type)
                .put((byte) codec.id())
                .putShort((short) 0)
                .putInt(sequence++)
                .putLong(type == DeltaFormat.FRAME_END ? offset : frameOffset)
                .putInt(rawLength)
                .putInt(storedLength);
        crc.reset();
        crc.update(frameHeader.array(), 0, frameHeader.position());
        crc.update(raw, 0, rawLength);
        frameHeader.putInt((int) crc.getValue());
        write(frameHeader.array(), frameHeader.position());
        write(stored != null ? stored : raw, storedLength);
    }

    private void write(byte[] bytes, int length) throws IOException {
        out.write(bytes, 0, length);
        bytesWritten += length;
    }
}
