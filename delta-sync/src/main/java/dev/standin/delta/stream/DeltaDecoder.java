package dev.standin.delta.stream;

import dev.standin.delta.BlockSize;
import dev.standin.delta.DeltaOp;
import dev.standin.delta.ImageDigest;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads a delta stream and hands it out one fully checked frame at a time. Every field is treated
 * as hostile: lengths are bounded before anything is allocated, a frame's checksum is verified
 * over its decoded bytes, and each op is checked against the header's lengths and the position the
 * previous op ended at, so a truncated, reordered, forged or out-of-range stream is refused before
 * any of its ops reach the caller.
 */
public final class DeltaDecoder implements AutoCloseable {

    private final InputStream in;
    private final DeltaHeader header;
    private final CRC32C crc = new CRC32C();
    private final byte[] headerBytes = new byte[DeltaFormat.FRAME_HEADER_LENGTH];
    private final byte[] stored = new byte[DeltaFormat.MAX_STORED_PAYLOAD];
    private final byte[] raw = new byte[DeltaFormat.MAX_FRAME_PAYLOAD];
    /** One per codec met so far: a stream codec keeps its state from frame to frame. */
    private final java.util.EnumMap<Compression, Compression.FrameDecompressor> decompressors =
            new java.util.EnumMap<>(Compression.class);

    private long offset;
    private int sequence;
    private long opCount;
    private long bytesRead;
    private byte[] targetDigest;

    /** Reads and checks the stream header. */
    public DeltaDecoder(InputStream in) throws IOException {
        this.in = in;
        byte[] h = new byte[DeltaFormat.STREAM_HEADER_LENGTH];
        readFully(h, h.length, "stream header");
        if (!Arrays.equals(h, 0, 8, DeltaFormat.STREAM_MAGIC, 0, 8)) {
            throw new DeltaFormatException("not a standin delta stream (bad magic)");
        }
        ByteBuffer b = ByteBuffer.wrap(h);
        crc.update(h, 0, h.length - 4);
        if ((int) crc.getValue() != b.getInt(h.length - 4)) {
            throw new DeltaFormatException("delta stream header checksum mismatch");
        }
        b.position(8);
        int version = b.getShort() & 0xffff;
        if (version != DeltaFormat.VERSION) {
            throw new DeltaFormatException("delta stream version " + version
                    + " is not supported (this build reads version " + DeltaFormat.VERSION + ")");
        }
        int flags = b.getShort() & 0xffff;
        if (flags != 0) {
            throw new DeltaFormatException("delta stream uses unknown flags 0x" + Integer.toHexString(flags));
        }
        int blockSize = b.getInt();
        long targetLength = b.getLong();
        long basisLength = b.getLong();
        byte[] basisDigest = new byte[ImageDigest.LENGTH];
        b.get(basisDigest);
        try {
            BlockSize.validate(blockSize);
            this.header = new DeltaHeader(blockSize, targetLength, basisLength, basisDigest);
        } catch (IllegalArgumentException e) {
            throw new DeltaFormatException("bad delta stream header: " + e.getMessage(), e);
        }
    }

    public DeltaHeader header() {
        return header;
    }

    /**
     * Reads the next frame and returns its ops, or null once the end frame has been read and
     * checked. Literal ops view a buffer that the next call reuses.
     */
    public List<DeltaOp> nextFrame() throws IOException {
        if (targetDigest != null) {
            return null;
        }
        readFully(headerBytes, headerBytes.length, "frame header");
        ByteBuffer h = ByteBuffer.wrap(headerBytes);
        if (h.getInt() != DeltaFormat.FRAME_MAGIC) {
            throw new DeltaFormatException("frame " + sequence + ": bad frame magic (stream out of sync)");
        }
        int type = h.get();
        Compression codec = Compression.ofId(h.get());
        int reserved = h.getShort();
        int frameSequence = h.getInt();
        long frameOffset = h.getLong();
        int rawLength = h.getInt();
        int storedLength = h.getInt();
        int checksum = h.getInt();
        if (reserved != 0) {
            throw new DeltaFormatException("frame " + sequence + ": reserved field is " + reserved);
        }
        if (frameSequence != sequence) {
            throw new DeltaFormatException("frame " + frameSequence + " arrived where frame " + sequence + " was due");
        }
        if (frameOffset != offset) {
            throw new DeltaFormatException("frame " + sequence + " starts at " + frameOffset + " but the target is complete up to " + offset);
        }
        if (rawLength <= 0 || rawLength > DeltaFormat.MAX_FRAME_PAYLOAD) {
            throw new DeltaFormatException("frame " + sequence + ": payload length " + rawLength + " out of range");
        }
        if (storedLength <= 0 || storedLength > DeltaFormat.MAX_STORED_PAYLOAD) {
            throw new DeltaFormatException("frame " + sequence + ": stored length " + storedLength + " out of range");
        }
        readFully(stored, storedLength, "frame " + sequence + " payload");
        decompressors.computeIfAbsent(codec, Compression::newDecompressor).decompress(stored, storedLength, raw, rawLength);
        crc.reset();
        crc.update(headerBytes, 0, headerBytes.length - 4);
        crc.update(raw, 0, rawLength);
        if ((int) crc.getValue() != checksum) {
            throw new DeltaFormatException("frame " + sequence + ": checksum mismatch (corrupt data)");
        }
        sequence++;
        ByteBuffer payload = ByteBuffer.wrap(raw, 0, rawLength);
        if (type == DeltaFormat.FRAME_END) {
            readEnd(payload);
            close();
            return null;
        }
        if (type != DeltaFormat.FRAME_OPS) {
            throw new DeltaFormatException("frame " + (sequence - 1) + ": unknown frame type " + type);
        }
        return readOps(payload);
    }

    private List<DeltaOp> readOps(ByteBuffer payload) throws DeltaFormatException {
        List<DeltaOp> ops = new ArrayList<>();
        long position = offset;
        while (payload.hasRemaining()) {
            int kind = payload.get();
            DeltaOp op;
            switch (kind) {
                case DeltaFormat.OP_SAME: {
                    long length = length(payload, position);
                    if (position + length > header.basisLength()) {
                        throw bad("same op ends at " + (position + length) + ", past the basis's " + header.basisLength() + " bytes");
                    }
                    op = new DeltaOp.Same(position, length);
                    break;
                }
                case DeltaFormat.OP_COPY: {
                    long from = Varint.get(payload);
                    long length = length(payload, position);
                    if (from > header.basisLength() || length > header.basisLength() - from) {
                        throw bad("copy op reads basis [" + from + ", +" + length + "), past its " + header.basisLength() + " bytes");
                    }
                    op = new DeltaOp.Copy(position, from, length);
                    break;
                }
                case DeltaFormat.OP_ZERO:
                    op = new DeltaOp.Zero(position, length(payload, position));
                    break;
                case DeltaFormat.OP_LITERAL: {
                    long length = length(payload, position);
                    if (length > payload.remaining()) {
                        throw bad("literal of " + length + " bytes but the frame holds " + payload.remaining());
                    }
                    op = new DeltaOp.Literal(position, payload.slice(payload.position(), (int) length).asReadOnlyBuffer());
                    payload.position(payload.position() + (int) length);
                    break;
                }
                default:
                    throw bad("unknown op code " + kind);
            }
            ops.add(op);
            position = op.end();
        }
        offset = position;
        opCount += ops.size();
        return ops;
    }

    private long length(ByteBuffer payload, long position) throws DeltaFormatException {
        long length = Varint.get(payload);
        if (length <= 0) {
            throw bad("zero-length op");
        }
        if (length > header.targetLength() - position) {
            throw bad("op of " + length + " bytes at " + position + " runs past the target's " + header.targetLength() + " bytes");
        }
        return length;
    }

    private void readEnd(ByteBuffer payload) throws DeltaFormatException {
        if (payload.remaining() != DeltaFormat.END_PAYLOAD_LENGTH) {
            throw new DeltaFormatException("end frame of " + payload.remaining() + " bytes");
        }
        long length = payload.getLong();
        long count = payload.getLong();
        if (length != header.targetLength()) {
            throw new DeltaFormatException("end frame's targetLength is " + length + ", the header's "
                    + header.targetLength());
        }
        if (offset != header.targetLength()) {
            throw new DeltaFormatException("stream ends at " + offset + " of the target's " + header.targetLength() + " bytes");
        }
        if (count != opCount) {
            throw new DeltaFormatException("end frame counts " + count + " ops but " + opCount + " arrived");
        }
        byte[] digest = new byte[ImageDigest.LENGTH];
        payload.get(digest);
        targetDigest = digest;
    }

    /**
     * Checks that nothing follows the end frame, for callers whose input holds one delta stream
     * and nothing else.
     */
    public void expectEndOfInput() throws IOException {
        if (targetDigest == null) {
            throw new IllegalStateException("end frame not read yet");
        }
        if (in.read() >= 0) {
            throw new DeltaFormatException("data follows the end frame");
        }
    }

    /** The target's digest, once {@link #nextFrame()} has returned null. */
    public byte[] targetDigest() {
        if (targetDigest == null) {
            throw new IllegalStateException("end frame not read yet");
        }
        return targetDigest.clone();
    }

    /** Releases the decompressors' native memory; done by itself once the end frame is read. */
    @Override
    public void close() {
        decompressors.values().forEach(Compression.FrameDecompressor::close);
        decompressors.clear();
    }

    /** Bytes of stream consumed so far. */
    public long bytesRead() {
        return bytesRead;
    }

    private DeltaFormatException bad(String what) {
        return new DeltaFormatException("frame " + (sequence - 1) + ": " + what);
    }

    private void readFully(byte[] dst, int length, String what) throws IOException {
        int done = 0;
        while (done < length) {
            int n = in.read(dst, done, length - done);
            if (n < 0) {
                throw new DeltaFormatException("delta stream truncated in " + what
                        + " (" + done + " of " + length + " bytes)", new EOFException());
            }
            done += n;
        }
        bytesRead += length;
    }
}
