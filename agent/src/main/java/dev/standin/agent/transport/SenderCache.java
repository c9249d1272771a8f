package dev.standin.agent.transport;

import dev.standin.delta.BlockSize;
import dev.standin.delta.ImageDigest;
import dev.standin.agent.replica.SignatureEntries;
import dev.standin.delta.Signatures;
import dev.standin.agent.replica.SideFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The sender's copy of a remote replica's signatures, tagged with the replica's generation (the
 * digest of its content at its last commit). When the receiver reports the same generation, the
 * cycle needs neither the receiver's signatures on the wire nor a read of the replica.
 *
 * <p>One file per replica under {@code STATE/remote/}, named by a digest of
 * {@code user@host:port:path}. Layout (docs/protocol.md#sender-cache): magic {@code STRSIG3\n},
 * version u32 (3: XXH3-64 strong sums), block size u32, length u64, generation (32 bytes), 12-byte
 * entries (weak sum, XXH3-64), CRC32C.
 * Written to a temporary file and renamed, so it is whole or absent; a damaged or other-version
 * file is a cache miss, never an error.
 */
public final class SenderCache {

    static final byte[] MAGIC = {'S', 'T', 'R', 'S', 'I', 'G', '3', '\n'};
    static final int VERSION = 3;
    private static final int ENTRY = SignatureEntries.ENTRY;
    /** Magic, version, block size, length, generation. */
    private static final int HEADER = 8 + 4 + 4 + 8 + ImageDigest.LENGTH;

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
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer header = SignatureEntries.readFully(in, ByteBuffer.allocate(HEADER), crc);
            byte[] magic = new byte[MAGIC.length];
            header.get(magic);
            if (!Arrays.equals(magic, MAGIC) || header.getInt() != VERSION) {
                return Optional.empty();
            }
            int blockSize = header.getInt();
            long length = header.getLong();
            if (blockSize < BlockSize.MIN || blockSize > BlockSize.MAX || Integer.bitCount(blockSize) != 1 || length < 0
                    || BlockSize.blockCount(length, blockSize) * ENTRY + HEADER + 4 != in.size()) {
                return Optional.empty();
            }
            byte[] generation = new byte[ImageDigest.LENGTH];
            header.get(generation);
            Signatures s = SignatureEntries.read(in, length, blockSize, crc);
            int expected = (int) crc.getValue();
            return SignatureEntries.readChecksum(in) == expected ? Optional.of(new Entry(s, generation)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Records {@code signatures} as generation {@code generation}; failure only costs a transfer. */
    public void store(Signatures signatures, byte[] generation) throws IOException {
        Files.createDirectories(file.getParent()); // in the state directory, which may be a link an administrator made
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        SideFiles.refuseLink(file);
        try (FileChannel out = SideFiles.create(temp, true)) {
            ByteBuffer header = ByteBuffer.allocate(HEADER).put(MAGIC).putInt(VERSION).putInt(signatures.blockSize())
                    .putLong(signatures.length()).put(generation).flip();
            SignatureEntries.writeFile(out, header, signatures);
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
