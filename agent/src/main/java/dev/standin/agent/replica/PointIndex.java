package dev.standin.agent.replica;

import dev.standin.delta.ImageDigest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The list of a replica's recovery points (docs/points-format.md, "Index"): a 24-byte header, one
 * 64-byte entry per point (oldest first), and a CRC32C over all of it. Replaced as a whole by
 * write-to-temporary, fsync, rename, fsync directory, so a crash leaves the old or the new index.
 *
 * @param nextId the id the next point gets; kept here so that ids are never reused after pruning
 */
record PointIndex(long nextId, List<Point> points) {

    static final byte[] MAGIC = {'S', 'T', 'P', 'N', 'T', 'S', '3', '\n'};
    static final int VERSION = 3;
    static final int HEADER = 24;
    static final int ENTRY = 64;
    private static final int PENDING = 1;

    static final PointIndex EMPTY = new PointIndex(1, List.of());

    PointIndex {
        points = List.copyOf(points);
    }

    /** The point the replica is at (or is being taken to, when pending); null if there is none. */
    Point newest() {
        return points.isEmpty() ? null : points.get(points.size() - 1);
    }

    PointIndex with(Point point) {
        List<Point> list = new ArrayList<>(points);
        list.add(point);
        return new PointIndex(Math.max(nextId, point.id() + 1), list);
    }

    PointIndex replacingNewest(Point point) {
        List<Point> list = new ArrayList<>(points);
        list.set(list.size() - 1, point);
        return new PointIndex(nextId, list);
    }

    /** The newest {@code keep} points; never fewer than the newest one while there is one and keep ≥ 1. */
    PointIndex newest(int keep) {
        return new PointIndex(nextId, points.subList(Math.max(0, points.size() - keep), points.size()));
    }

    static PointIndex read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return EMPTY;
        }
        return decode(Files.readAllBytes(file), file.toString());
    }

    /** The index {@code bytes} hold, or the format's error; {@code file} names it in messages. */
    static PointIndex decode(byte[] bytes, String file) throws PointFormatException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < 8 || !Arrays.equals(Arrays.copyOf(bytes, 6), Arrays.copyOf(MAGIC, 6))) {
            throw new PointFormatException("point index " + file + " is damaged (no STPNTS magic)", false);
        }
        if (!Arrays.equals(Arrays.copyOf(bytes, 8), MAGIC)) {
            throw new PointFormatException("point index " + file + " has layout '"
                    + new String(bytes, 0, 7, StandardCharsets.US_ASCII) + "', not one this build knows", true);
        }
        if (bytes.length < HEADER + 4) {
            throw new PointFormatException("point index " + file + " is damaged (" + bytes.length + " bytes)", false);
        }
        int count = b.getInt(12);
        if (count < 0 || bytes.length != HEADER + (long) count * ENTRY + 4) {
            throw new PointFormatException("point index " + file + " is damaged (" + bytes.length + " bytes for "
                    + count + " points)", false);
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != b.getInt(bytes.length - 4)) {
            throw new PointFormatException("point index " + file + " is damaged (CRC32C mismatch)", false);
        }
        int version = b.getShort(8) & 0xffff;
        if (version != VERSION) {
            throw new PointFormatException("point index " + file + " is version " + version + ", not one this build knows",
                    true);
        }
        long nextId = b.getLong(16);
        List<Point> points = new ArrayList<>(count);
        b.position(HEADER);
        for (int i = 0; i < count; i++) {
            long id = b.getLong();
            Instant committed = Instant.ofEpochMilli(b.getLong());
            long length = b.getLong();
            int blockSize = b.getInt();
            int kind = b.get();
            int flags = b.get();
            b.getShort();
            byte[] digest = new byte[ImageDigest.LENGTH];
            b.get(digest);
            try {
                points.add(new Point(id, committed, length, blockSize, digest, Point.Kind.of(kind), (flags & PENDING) != 0));
            } catch (IllegalArgumentException e) {
                throw new PointFormatException("point index " + file + " entry " + i + ": " + e.getMessage(), true);
            }
        }
        return new PointIndex(nextId, points);
    }

    /** Replaces {@code file} atomically and durably with this index. */
    void write(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(encode());
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        SideFiles.refuseLink(file);
        try (FileChannel out = SideFiles.create(temp, true)) {
            while (b.hasRemaining()) {
                out.write(b);
            }
            out.force(true);
        }
        try {
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + temp + " atomically", e);
        }
        Durability.syncDirectory(file.toAbsolutePath().getParent());
    }

    /** The index as the format lays it out, CRC32C included. */
    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER + points.size() * ENTRY + 4);
        b.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(points.size()).putLong(nextId);
        for (Point p : points) {
            b.putLong(p.id()).putLong(p.committed().toEpochMilli()).putLong(p.length()).putInt(p.blockSize())
                    .put((byte) p.kind().code).put((byte) (p.pending() ? PENDING : 0)).putShort((short) 0)
                    .put(p.digest());
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }
}
