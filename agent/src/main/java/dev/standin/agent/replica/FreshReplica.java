package dev.standin.agent.replica;

import dev.standin.delta.BlockSize;
import dev.standin.delta.Signatures;
import dev.standin.delta.ZeroBlocks;
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
 *
 * <p>A first copy of a large disk over a slow link takes hours, so it checkpoints: every
 * {@link #checkpointInterval} bytes of data received the staging file is fdatasync'd and the finished blocks'
 * signatures appended to a {@link ResumeLog}. When the cycle stops (the sender vanished, the link
 * broke, the receiver was killed), the staging file and its log stay; the next attempt offers the
 * held blocks to the sender as its basis and only the rest crosses the wire again.
 */
public final class FreshReplica implements ReplicaTarget {

    private final Path destination;
    private final Path staging;
    private final RandomAccessFile file;
    private final FileChannel channel;
    private final CoalescingWriter writer;
    private final int blockSize;
    private final int heldBlocks;
    private final ResumeLog log;
    private final long checkpointBytes;
    /** Data bytes received since the last checkpoint: what an interruption now would send again. */
    private long sinceCheckpoint;
    /** The staging file's pages go to the disk as they are written: the checkpoints' fdatasyncs wait for little. */
    private final Writeback writeback;
    private final long targetLength;
    private final PointStore points;
    private final int keepPoints;
    private int checkpointed;
    private boolean committed;

    private FreshReplica(Path destination, long targetLength, int blockSize, Optional<ResumeLog.Held> resume,
            Optional<NativeIo> io, int keepPoints) throws IOException {
        this.destination = destination;
        this.targetLength = targetLength;
        this.keepPoints = keepPoints;
        this.points = PointStore.beside(destination, io);
        this.staging = stagingPath(destination);
        this.blockSize = BlockSize.validate(blockSize);
        this.checkpointBytes = checkpointInterval(targetLength);
        if (resume.isEmpty()) {
            Files.deleteIfExists(staging);
        }
        this.file = new RandomAccessFile(staging.toFile(), "rw");
        this.channel = file.getChannel();
        this.writeback = Writeback.of(staging, io);
        this.writer = new CoalescingWriter(channel, writeback);
        if (resume.isPresent()) {
            this.heldBlocks = resume.get().signatures().blockCount();
            // Anything written after the last checkpoint is not vouched for: make it holes again.
            file.setLength(resume.get().bytes());
            this.log = ResumeLog.append(destination, resume.get(), ResumeLog.validLength(destination));
        } else {
            this.heldBlocks = 0;
            this.log = ResumeLog.create(destination, targetLength, blockSize, new byte[32]);
        }
        this.checkpointed = heldBlocks;
        file.setLength(targetLength);
    }

    /**
     * A new first copy; any staging file or resume log left before is dropped.
     *
     * @param keepPoints recovery points to keep; the copy becomes point 1 of a new history unless 0
     */
    public static FreshReplica create(Path destination, long targetLength, int blockSize, Optional<NativeIo> io,
            int keepPoints) throws IOException {
        return new FreshReplica(destination, targetLength, blockSize, Optional.empty(), io, keepPoints);
    }

    /** Continues the first copy whose first blocks {@code held} describes. */
    public static FreshReplica resume(Path destination, ResumeLog.Held held, Optional<NativeIo> io, int keepPoints)
            throws IOException {
        return new FreshReplica(destination, held.targetLength(), held.blockSize(), Optional.of(held), io, keepPoints);
    }

    /** What an interrupted first copy of {@code destination} holds, when its staging file is still there. */
    public static Optional<ResumeLog.Held> resumable(Path destination) {
        if (!Files.isRegularFile(stagingPath(destination))) {
            return Optional.empty();
        }
        return ResumeLog.load(destination).filter(h -> h.journalLength() == 0);
    }

    /** Deletes the staging file and resume log of {@code destination}, unless they can be resumed. */
    public static void recover(Path destination) throws IOException {
        if (resumable(destination).isEmpty()) {
            Files.deleteIfExists(stagingPath(destination));
            ResumeLog.delete(destination);
        }
    }

    /**
     * Data bytes received between checkpoints: 1/64 of the image, at least 8 MiB, at most 256 MiB.
     * Each costs two fdatasyncs and 12 bytes per block since the last; at most that much is sent
     * again after an interruption. Counted in data received, not in image covered: a 1 % update
     * of a 4 GiB image made 64 checkpoints of 0.6 MiB each, ~0.1 s of a 1.2 s cycle here.
     */
    static long checkpointInterval(long targetLength) {
        return Math.min(256L << 20, Math.max(8L << 20, targetLength / 64));
    }

    public static Path stagingPath(Path destination) {
        return destination.resolveSibling("." + destination.getFileName() + ".standin-partial");
    }

    /** The staging file: the basis of a resumed first copy (blocks below the held count). */
    public FileChannel stagingChannel() {
        return channel;
    }

    @Override
    public void same(int block) throws IOException {
        if (block >= heldBlocks) {
            throw new IOException("block " + block + " is not held by this first copy (" + heldBlocks + " are)");
        }
    }

    @Override
    public void zero(int block, int length) throws IOException {
        if (block < heldBlocks) {
            // A held block that became zero; the rest of the file was created sparse.
            writer.write((long) block * blockSize, ZeroBlocks.zeros(length));
        }
    }

    @Override
    public void data(int block, ByteBuffer content) throws IOException {
        sinceCheckpoint += content.remaining();
        writer.write((long) block * blockSize, content);
    }

    /**
     * Called as blocks complete: makes a checkpoint when a whole interval of data has arrived since
     * the last. Holes do not count: sending them again costs a few bytes of zero ops.
     */
    public void progress(int completedBlocks, Signatures target) throws IOException {
        if (sinceCheckpoint >= checkpointBytes && completedBlocks > checkpointed) {
            writer.flush();
            channel.force(false);
            log.checkpoint(completedBlocks, target, 0, 0);
            checkpointed = completedBlocks;
            sinceCheckpoint = 0;
        }
    }

    @Override
    public void commit(byte[] targetDigest) throws IOException {
        writer.flush();
        channel.force(true);
        channel.close();
        writeback.close();
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
        log.close();
        ResumeLog.delete(destination);
        points.settle();
        points.prune(keepPoints);
    }

    /** Keeps the staging file and its log when a checkpoint was made, so that the next attempt resumes. */
    @Override
    public void abort() {
        finish(checkpointed > heldBlocks || heldBlocks > 0);
    }

    @Override
    public void discard() {
        finish(false);
    }

    private void finish(boolean keep) {
        try {
            close();
        } catch (IOException ignored) {
            // deleted below, or kept for the next run, which deletes what is not resumable
        }
        if (!committed && !keep) {
            try {
                Files.deleteIfExists(staging);
                ResumeLog.delete(destination);
            } catch (IOException ignored) {
                // the next run's recovery deletes what is not resumable
            }
        }
    }

    /**
     * Closes the files. What stays on disk is decided by {@link #commit}, {@link #abort} or
     * {@link #discard}; after a crash, by the next run's {@link #recover}.
     */
    @Override
    public void close() throws IOException {
        try (ResumeLog l = log; Writeback w = writeback) {
            file.close();
        }
    }
}
