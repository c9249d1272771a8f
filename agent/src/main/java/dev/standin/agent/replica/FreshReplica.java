package dev.standin.agent.replica;

import dev.standin.delta.BlockSize;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * A first copy into a regular file that does not exist yet: blocks go to a hidden staging file in
 * the same directory, created sparse, so zero blocks are never written and stay holes; commit
 * syncs it and renames it into place, which is atomic.
 */
public final class FreshReplica implements ReplicaTarget {

    private final Path destination;
    private final Path staging;
    private final RandomAccessFile file;
    private final FileChannel channel;
    private final int blockSize;
    private final long targetLength;
    private final PointStore points;
    private final int keepPoints;
    private boolean committed;

    /** @param keepPoints recovery points to keep; the copy becomes point 1 of a new history unless 0 */
    public FreshReplica(Path destination, long targetLength, int blockSize, Optional<NativeIo> io, int keepPoints)
            throws IOException {
        this.destination = destination;
        this.targetLength = targetLength;
        this.keepPoints = keepPoints;
        this.points = PointStore.beside(destination, io);
        this.staging = stagingPath(destination);
        this.blockSize = BlockSize.validate(blockSize);
        Files.deleteIfExists(staging);
        this.file = new RandomAccessFile(staging.toFile(), "rw");
        this.channel = file.getChannel();
        file.setLength(targetLength);
    }

    public static Path stagingPath(Path destination) {
        return destination.resolveSibling("." + destination.getFileName() + ".standin-partial");
    }

    @Override
    public void same(int block) {
        throw new IllegalStateException("a first copy has no basis block to keep");
    }

    @Override
    public void zero(int block, int length) {
        // The staging file was created sparse: unwritten ranges read as zeros.
    }

    @Override
    public void data(int block, ByteBuffer content) throws IOException {
        long position = (long) block * blockSize;
        while (content.hasRemaining()) {
            position += channel.write(content, position);
        }
    }

    @Override
    public void commit(byte[] targetDigest) throws IOException {
        channel.force(true);
        channel.close();
        // Before the rename, so that a crash after it finds point 1 pending and settles it.
        if (keepPoints > 0) {
            points.beforeFirstCopy(targetLength, blockSize, targetDigest);
        } else {
            points.delete();
        }
        try {
            Files.move(staging, destination, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + staging + " onto " + destination + " atomically", e);
        }
        Durability.syncDirectory(destination.toAbsolutePath().getParent());
        committed = true;
        points.settle();
        points.prune(keepPoints);
    }

    @Override
    public void abort() {
        try {
            close();
        } catch (IOException ignored) {
            // the staging file is removed below either way
        }
        try {
            Files.deleteIfExists(staging);
        } catch (IOException ignored) {
            // a leftover staging file is deleted by the next run
        }
    }

    @Override
    public void close() throws IOException {
        file.close();
        if (!committed) {
            Files.deleteIfExists(staging);
        }
    }

}
