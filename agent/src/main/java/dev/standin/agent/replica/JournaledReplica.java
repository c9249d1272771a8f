package dev.standin.agent.replica;

import dev.standin.delta.Signatures;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * An update of an existing replica (file or block device): blocks go to the redo {@link Journal};
 * commit makes the journal durable with its commit record, then replays it onto the replica and
 * deletes it. Until the commit record is on disk the replica has not been touched.
 *
 * <p>For a file replica the journal is checkpointed like a first copy's staging file (see
 * {@link FreshReplica}): when a cycle is cut off, the uncommitted journal and its
 * {@link ResumeLog} stay, and the next cycle against the same replica continues the journal
 * instead of receiving its blocks again.
 */
public final class JournaledReplica implements ReplicaTarget {

    private final Path destination;
    private final boolean blockDevice;
    private final Path journalPath;
    private final Journal.Writer journal;
    private final Optional<NativeIo> io;
    private final ResumeLog log;
    private final int heldBlocks;
    private final long checkpointBytes;
    /** Data bytes journaled since the last checkpoint: what an interruption now would send again. */
    private long sinceCheckpoint;
    private final PointStore points;
    private final int keepPoints;
    private final int blockSize;
    /**
     * The undo data of the replica's newest point, captured as records are journaled; empty when
     * there is no undo point, and for a resumed journal, whose earlier records it never saw (the
     * replay then captures it, docs/points-format.md).
     */
    private final Optional<UndoFile.Capture> undo;
    private int checkpointed;
    private boolean committed;

    /**
     * @param keepPoints recovery points to keep (docs/points-format.md); 0 removes the replica's
     *                   points now, so that the replay has no point to capture undo data for
     */
    public JournaledReplica(Path destination, boolean blockDevice, Path journalPath, int blockSize, long targetLength,
            long basisLength, byte[] basisDigest, Optional<NativeIo> io, int keepPoints) throws IOException {
        this.io = io;
        this.keepPoints = keepPoints;
        this.points = preparePoints(journalPath, destination, blockDevice, io, keepPoints);
        this.destination = destination;
        this.blockDevice = blockDevice;
        this.journalPath = journalPath;
        this.journal = new Journal.Writer(journalPath, blockSize, targetLength, basisLength, basisDigest).writingBack(io);
        // Devices keep no signature record, so nothing proves later that the replica is still the
        // basis a held journal was computed against: they do not resume.
        this.log = blockDevice ? null : ResumeLog.create(destination, targetLength, blockSize, basisDigest);
        this.heldBlocks = 0;
        this.checkpointBytes = FreshReplica.checkpointInterval(targetLength);
        this.blockSize = blockSize;
        this.undo = keepPoints > 0 ? startCapture(targetLength) : Optional.empty();
    }

    /** Closes what the constructor opened when the capture cannot start: the caller never gets the object to close. */
    private Optional<UndoFile.Capture> startCapture(long targetLength) throws IOException {
        try {
            return points.startCapture(targetLength);
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private JournaledReplica(Path destination, Path journalPath, ResumeLog.Held held, Optional<NativeIo> io,
            int keepPoints) throws IOException {
        this.io = io;
        this.keepPoints = keepPoints;
        this.points = preparePoints(journalPath, destination, false, io, keepPoints);
        this.destination = destination;
        this.blockDevice = false;
        this.journalPath = journalPath;
        this.journal = Journal.Writer.resume(journalPath, held.journalLength(), held.journalRecords()).writingBack(io);
        this.log = ResumeLog.append(destination, held, ResumeLog.validLength(destination));
        this.heldBlocks = held.signatures().blockCount();
        this.checkpointed = heldBlocks;
        this.checkpointBytes = FreshReplica.checkpointInterval(held.targetLength());
        this.blockSize = held.blockSize();
        this.undo = Optional.empty();
    }

    /**
     * Continues the uncommitted journal that {@code held} describes. The caller has checked that
     * the replica is still the basis it was computed against. Held blocks that the new delta
     * keeps are already in the journal; blocks it changes get records after them, which replay
     * in order and so win.
     */
    public static JournaledReplica resume(Path destination, Path journalPath, ResumeLog.Held held,
            Optional<NativeIo> io, int keepPoints) throws IOException {
        return new JournaledReplica(destination, journalPath, held, io, keepPoints);
    }

    /** Before the journal can be committed: a replay finds the store, and records the new point. */
    private static PointStore preparePoints(Path journalPath, Path destination, boolean blockDevice,
            Optional<NativeIo> io, int keepPoints) throws IOException {
        PointStore points = PointStore.forJournal(journalPath, destination, blockDevice, io);
        if (keepPoints > 0) {
            points.create();
        } else {
            points.prune(0);
        }
        return points;
    }

    /** The resume log of an interrupted update of the file replica {@code destination}, when its journal is still there. */
    public static Optional<ResumeLog.Held> resumable(Path destination, Path journalPath) {
        if (!Files.isRegularFile(journalPath)) {
            return Optional.empty();
        }
        return ResumeLog.load(destination).filter(h -> h.journalLength() > 0);
    }

    @Override
    public void same(int block) {
        // unchanged, or held in the journal already: nothing to record
    }

    @Override
    public void zero(int block, int length) throws IOException {
        journal.zero(block, length);
        if (undo.isPresent()) {
            undo.get().range((long) block * blockSize, length);
        }
    }

    @Override
    public void data(int block, ByteBuffer content) throws IOException {
        int length = content.remaining();
        sinceCheckpoint += length;
        journal.data(block, content);
        if (undo.isPresent()) {
            undo.get().range((long) block * blockSize, length);
        }
    }

    /**
     * Called as blocks complete: checkpoints the journal when a whole interval of data was
     * journaled since the last ({@link FreshReplica#checkpointInterval}).
     */
    public void progress(int completedBlocks, Signatures target) throws IOException {
        if (log != null && sinceCheckpoint >= checkpointBytes && completedBlocks > checkpointed) {
            long[] at = journal.sync();
            log.checkpoint(completedBlocks, target, at[0], at[1]);
            checkpointed = completedBlocks;
            sinceCheckpoint = 0;
        }
    }

    @Override
    public void commit(byte[] targetDigest) throws IOException {
        Optional<UndoFile.Captured> captured = undo.isPresent() ? Optional.of(undo.get().finish()) : Optional.empty();
        journal.commit(targetDigest);
        journal.close();
        committed = true;
        closeLog();
        ResumeLog.delete(destination);
        Journal.Recovery applied = Journal.replayCommitted(journalPath, destination, blockDevice, io, captured);
        if (applied != Journal.Recovery.REPLAYED) {
            throw new IOException("journal " + journalPath + " vanished or was unreadable at commit (" + applied
                    + "); the replica may be at the previous point and must not be trusted until the next cycle");
        }
        points.prune(keepPoints);
    }

    /** Keeps the journal and its log when a checkpoint was made, so that the next cycle resumes. */
    @Override
    public void abort() {
        finish(log != null && (checkpointed > heldBlocks || heldBlocks > 0));
    }

    @Override
    public void discard() {
        finish(false);
    }

    private void finish(boolean keep) {
        try {
            close();
        } catch (IOException ignored) {
            // deleted below, or left for the next run's recovery
        }
        if (!committed && !keep) {
            try {
                Files.deleteIfExists(journalPath);
                if (log != null) {
                    ResumeLog.delete(destination);
                }
            } catch (IOException ignored) {
                // an uncommitted journal left behind is discarded by the next run
            }
        }
    }

    private void closeLog() {
        if (log != null) {
            try {
                log.close();
            } catch (IOException ignored) {
                // the log's records are synced as they are written
            }
        }
    }

    @Override
    public void close() throws IOException {
        try (Journal.Writer j = journal) {
            closeLog();
        } finally {
            if (undo != null && undo.isPresent()) {
                undo.get().close(); // an unfinished capture deletes its file
            }
        }
    }
}
