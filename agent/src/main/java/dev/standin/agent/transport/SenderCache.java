package dev.standin.agent.transport;

import dev.standin.delta.BlockSize;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.Signatures;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The sender's copy of a remote replica's signatures, tagged with the replica's generation (the
 * digest of its content at its last commit). When the receiver reports the same generation, the
 * cycle needs neither the receiver's signatures on the wire nor a read of the replica.
 *
 * <p>One file per replica under {@code STATE/remote/}, named by a digest of
 * {@code user@host:port:path}. Layout (docs/protocol.md#sender-cache): magic {@code STRSIG2\n},
 * version u32 (2: XXH64 strong sums), block size u32, length u64, generation (32 bytes), 12-byte
 * entries (weak sum, XXH64), CRC32C.
 * Written to a temporary file and renamed, so it is whole or absent; a damaged or other-version
 * file is a cache miss, never an error.
 */
public final class SenderCache {

    static final byte[] MAGIC = {'S', 'T', 'R', 'S', 'I', 'G', '2', '\n'};
    static final int VERSION = 2;
    private static final int ENTRY = 4 + 8;

    /** Signatures of one generation of a remote replica. */
    public record Entry(Signatures signatures, byte[] generation) {}

    private final Path file;

    private SenderCache(Path file) {
        this.file = file;
    }

    public static SenderCache of(Path stateDirectory, RemoteLocation location, String path) {
        String key = location.user() + "@" + location.host() + ":" + location.port() + ":" + path;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return new SenderCache(stateDirectory.resolve("remote")
                    .resolve(HexFormat.of().formatHex(digest, 0, 16) + ".standin-sigs"));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    public Path file() {
        return file;
    }

    public Optional<Entry> load() {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        CRC32C crc = new CRC32C();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            DataInputStream in = new DataInputStream(new CheckedInputStream(raw, crc));
            byte[] magic = new byte[MAGIC.length];
            in.readFully(magic);
            if (!Arrays.equals(magic, MAGIC) || in.readInt() != VERSION) {
                return Optional.empty();
            }
            int blockSize = in.readInt();
            long length = in.readLong();
            if (blockSize < BlockSize.MIN || blockSize > BlockSize.MAX || Integer.bitCount(blockSize) != 1 || length < 0
                    || BlockSize.blockCount(length, blockSize) * ENTRY + 60 != Files.size(file)) {
                return Optional.empty();
            }
            byte[] generation = new byte[ImageDigest.LENGTH];
            in.readFully(generation);
            Signatures s = new Signatures(length, blockSize);
            for (int i = 0; i < s.blockCount(); i++) {
                s.set(i, in.readInt(), in.readLong());
            }
            int expected = (int) crc.getValue();
            int stored = new DataInputStream(raw).readInt();
            return stored == expected ? Optional.of(new Entry(s, generation)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Records {@code signatures} as generation {@code generation}; failure only costs a transfer. */
    public void store(Signatures signatures, byte[] generation) throws IOException {
        Files.createDirectories(file.getParent());
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        CRC32C crc = new CRC32C();
        try (OutputStream raw = new BufferedOutputStream(Files.newOutputStream(temp), 1 << 16)) {
            DataOutputStream out = new DataOutputStream(new CheckedOutputStream(raw, crc));
            out.write(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(signatures.blockSize());
            out.writeLong(signatures.length());
            out.write(generation);
            for (int i = 0; i < signatures.blockCount(); i++) {
                out.writeInt(signatures.weak(i));
                out.writeLong(signatures.strong(i));
            }
            out.flush();
            new DataOutputStream(raw).writeInt((int) crc.getValue());
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Forgets the replica's signatures: after a failed or unverifiable commit. */
    public void invalidate() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a stale file is harmless: its generation will not match the receiver's
        }
    }
}
