package dev.standin.agent.replica;

import dev.standin.delta.BlockSize;
import dev.standin.delta.Signatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * The replica's block signatures, kept beside it (docs/signature-cache.md) so that the next cycle
 * reads only the source. A cache is used only while the replica is provably the file it describes:
 * same device, inode, size, modification and change time as recorded right after the commit that
 * wrote it. Booting the replica, editing it or replaying a journal changes its ctime, which no
 * user can set back, and the cache is then ignored (the replica is read again).
 *
 * <p>Limit: timestamps advance in clock ticks (4 ms on a 250 Hz kernel), so a write by another
 * program in the same tick as the commit's last write is not seen. Nothing but standin should
 * write a replica while it is being replicated to; the destination lock keeps other standin runs
 * out, and {@code standin verify} (scrub) catches anything else.
 *
 * <p>Layout: magic, version, block size, length, the identity, each block's weak and strong sum
 * (12 bytes), and a CRC32C over all of it. Written to a temporary file and renamed, so it is whole
 * or absent. Version 3: XXH3-64 strong sums (1 held XXH128, 2 XXH64); a cache of another version is
 * not used, and the replica is read instead.
 */
public final class SignatureCache {

    static final byte[] MAGIC = {'S', 'T', 'S', 'I', 'G', 'S', '3', '\n'};
    static final int VERSION = 3;
    private static final int ENTRY = SignatureEntries.ENTRY;
    private static final int HEADER = 8 + 4 + 4 + 8 + 5 * 8;

    /** What identifies one version of a replica file. */
    public record Identity(long device, long inode, long size, long modifiedNanos, long changedNanos) {
        /** The identity of {@code file} as it is now. */
        public static Identity of(Path file) throws IOException {
            Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime");
            return new Identity((Long) a.get("dev"), (Long) a.get("ino"), (Long) a.get("size"),
                    nanos((FileTime) a.get("lastModifiedTime")), nanos((FileTime) a.get("ctime")));
        }

        private static long nanos(FileTime t) {
            return t.to(TimeUnit.NANOSECONDS);
        }
    }

    private SignatureCache() {}

    public static Path pathFor(Path replica) {
        return replica.resolveSibling("." + replica.getFileName() + ".standin-sigs");
    }

    /** Records the signatures of {@code replica} as it is now. */
    public static void store(Path replica, Signatures signatures) throws IOException {
        store(replica, signatures, Identity.of(replica));
    }

    /**
     * Records the signatures of {@code replica} when it had identity {@code id}: taken right after
     * the commit that wrote it, the record then vouches for nothing written after the commit, even
     * when it is stored later (a receiver stores it after answering its sender).
     */
    public static void store(Path replica, Signatures signatures, Identity id) throws IOException {
        if (id.size() != signatures.length()) {
            throw new IOException("replica is " + id.size() + " bytes, signatures describe " + signatures.length());
        }
        Path target = pathFor(replica);
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        SideFiles.refuseLink(target);
        try (FileChannel out = SideFiles.create(temp, true)) {
            encode(out, signatures, id);
            out.force(false);
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(temp);
            throw new IOException("cannot rename " + temp + " atomically", e);
        }
    }

    /** The record's layout: header, entries, CRC32C. */
    static void encode(WritableByteChannel out, Signatures signatures, Identity id) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        header.put(MAGIC).putInt(VERSION).putInt(signatures.blockSize()).putLong(signatures.length())
                .putLong(id.device()).putLong(id.inode()).putLong(id.size()).putLong(id.modifiedNanos())
                .putLong(id.changedNanos()).flip();
        SignatureEntries.writeFile(out, header, signatures);
    }

    /**
     * The signatures a {@code size}-byte record holds if it describes a replica of identity
     * {@code now} in blocks of {@code blockSize}; empty if it is damaged, of another version or
     * block size, or of another replica (or of this one before it changed).
     */
    static Optional<Signatures> decode(ReadableByteChannel in, long size, Identity now, int blockSize)
            throws IOException {
        long expectedBlocks = BlockSize.blockCount(now.size(), blockSize);
        if (size != HEADER + expectedBlocks * ENTRY + 4) {
            return Optional.empty();
        }
        CRC32C crc = new CRC32C();
        ByteBuffer header = SignatureEntries.readFully(in, ByteBuffer.allocate(HEADER), crc);
        byte[] magic = new byte[8];
        header.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC) || header.getInt() != VERSION || header.getInt() != blockSize) {
            return Optional.empty();
        }
        long length = header.getLong();
        Identity recorded = new Identity(header.getLong(), header.getLong(), header.getLong(), header.getLong(),
                header.getLong());
        if (!recorded.equals(now) || length != now.size()) {
            return Optional.empty();
        }
        Signatures signatures = SignatureEntries.read(in, length, blockSize, crc);
        return SignatureEntries.readChecksum(in) == (int) crc.getValue() ? Optional.of(signatures) : Optional.empty();
    }

    /**
     * The cached signatures of {@code replica} if they still describe it with this block size;
     * empty when there is no cache, it is damaged, or the replica changed since it was written.
     */
    public static Optional<Signatures> load(Path replica, int blockSize) throws IOException {
        Path path = pathFor(replica);
        Identity now;
        try {
            now = Identity.of(replica);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (!Files.isRegularFile(path)) {
            return Optional.empty();
        }
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ)) {
            return decode(in, in.size(), now, blockSize);
        }
    }

    /**
     * What the last commit recorded for a replica, with the identity fields that no longer match
     * ({@code device}, {@code inode}, {@code size}, {@code mtime}, {@code ctime}; empty if all do).
     */
    public record Recorded(Signatures signatures, java.util.List<String> identityChanges) {
        public Recorded {
            identityChanges = java.util.List.copyOf(identityChanges);
        }
    }

    /**
     * Reads the record beside {@code replica} like {@link #load} but without refusing it when the
     * replica's identity changed: {@code standin verify} compares the replica's content with it,
     * and a changed identity is exactly the case it is asked about. The block size and length are
     * the record's own. Empty when there is no record; an {@link IOException} saying what is wrong
     * when it is damaged (size, magic, version, block size, CRC).
     */
    public static Optional<Recorded> loadIgnoringIdentity(Path replica) throws IOException {
        Path path = pathFor(replica);
        if (!Files.isRegularFile(path)) {
            return Optional.empty();
        }
        Identity now = Identity.of(replica);
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ)) {
            if (in.size() < HEADER + 4) {
                throw new IOException(path + " is damaged: " + in.size() + " bytes, shorter than its header");
            }
            CRC32C crc = new CRC32C();
            ByteBuffer header = SignatureEntries.readFully(in, ByteBuffer.allocate(HEADER), crc);
            byte[] magic = new byte[8];
            header.get(magic);
            int version = header.getInt();
            if (!java.util.Arrays.equals(magic, MAGIC) || version != VERSION) {
                throw new IOException(path + " is not a version " + VERSION + " signature record");
            }
            int blockSize = header.getInt();
            long length = header.getLong();
            if (Integer.bitCount(blockSize) != 1 || blockSize < BlockSize.MIN || blockSize > BlockSize.MAX || length < 0
                    || in.size() != HEADER + BlockSize.blockCount(length, blockSize) * ENTRY + 4) {
                throw new IOException(path + " is damaged: its size " + in.size() + " does not fit " + length
                        + " bytes in blocks of " + blockSize);
            }
            Identity recorded = new Identity(header.getLong(), header.getLong(), header.getLong(), header.getLong(),
                    header.getLong());
            Signatures signatures = SignatureEntries.read(in, length, blockSize, crc);
            if (SignatureEntries.readChecksum(in) != (int) crc.getValue()) {
                throw new IOException(path + " is damaged: its CRC does not match its content");
            }
            java.util.List<String> changes = new java.util.ArrayList<>();
            if (recorded.device() != now.device()) {
                changes.add("device");
            }
            if (recorded.inode() != now.inode()) {
                changes.add("inode");
            }
            if (recorded.size() != now.size()) {
                changes.add("size");
            }
            if (recorded.modifiedNanos() != now.modifiedNanos()) {
                changes.add("mtime");
            }
            if (recorded.changedNanos() != now.changedNanos()) {
                changes.add("ctime");
            }
            return Optional.of(new Recorded(signatures, changes));
        }
    }

    /** Forgets the cache, before the replica is changed by anything but a commit. */
    public static void invalidate(Path replica) throws IOException {
        Files.deleteIfExists(pathFor(replica));
    }
}
