package dev.standin.agent.replica;

import dev.standin.delta.Signatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.zip.CRC32C;

/**
 * The 12-byte entries (weak sum u32, XXH3-64 u64, big-endian) that the signature files on both
 * ends store, read and written 4096 at a time. Reading a million entries through a
 * DataInputStream cost a fresh JVM ~0.5 s (the per-entry calls run interpreted at first); in
 * chunks it is a few milliseconds.
 */
public final class SignatureEntries {

    public static final int ENTRY = 4 + 8;
    private static final int CHUNK = 4096;

    private SignatureEntries() {}

    /** Reads {@code length / blockSize} entries, adding their bytes to {@code crc}. */
    public static Signatures read(ReadableByteChannel in, long length, int blockSize, CRC32C crc) throws IOException {
        Signatures signatures = new Signatures(length, blockSize);
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK * ENTRY);
        for (int done = 0, count = signatures.blockCount(); done < count; ) {
            int n = Math.min(CHUNK, count - done);
            readFully(in, chunk.clear().limit(n * ENTRY), crc);
            for (int i = 0; i < n; i++) {
                signatures.set(done + i, chunk.getInt(), chunk.getLong());
            }
            done += n;
        }
        return signatures;
    }

    /** Writes every entry of {@code signatures}, adding their bytes to {@code crc}. */
    private static void write(WritableByteChannel out, Signatures signatures, CRC32C crc) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK * ENTRY);
        for (int i = 0, count = signatures.blockCount(); i < count; i++) {
            if (chunk.remaining() < ENTRY) {
                writeFully(out, chunk.flip(), crc);
                chunk.clear();
            }
            chunk.putInt(signatures.weak(i)).putLong(signatures.strong(i));
        }
        writeFully(out, chunk.flip(), crc);
    }

    /**
     * Writes a whole signature file: {@code header}, every entry of {@code signatures}, and the
     * 4-byte trailer that ends both kinds, the CRC32C of everything before it.
     */
    public static void writeFile(WritableByteChannel out, ByteBuffer header, Signatures signatures)
            throws IOException {
        CRC32C crc = new CRC32C();
        writeFully(out, header, crc);
        write(out, signatures, crc);
        writeFully(out, ByteBuffer.allocate(4).putInt((int) crc.getValue()).flip(), new CRC32C());
    }

    /** Reads the 4-byte trailer, the checksum stored for what came before it. */
    public static int readChecksum(ReadableByteChannel in) throws IOException {
        return readFully(in, ByteBuffer.allocate(4), new CRC32C()).getInt();
    }

    /** Fills {@code b} up to its limit, adds what was read to {@code crc}, and flips it. */
    public static ByteBuffer readFully(ReadableByteChannel in, ByteBuffer b, CRC32C crc) throws IOException {
        while (b.hasRemaining()) {
            if (in.read(b) < 0) {
                throw new IOException("signature file ended early");
            }
        }
        b.flip();
        crc.update(b.duplicate());
        return b;
    }

    /** Writes all of {@code b} after adding it to {@code crc}. */
    private static void writeFully(WritableByteChannel out, ByteBuffer b, CRC32C crc) throws IOException {
        crc.update(b.duplicate());
        while (b.hasRemaining()) {
            out.write(b);
        }
    }
}
