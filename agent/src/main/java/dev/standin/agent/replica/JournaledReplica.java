package dev.standin.agent.replica;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import dev.standin.nativeio.NativeIo;

/**
 * An update of an existing replica (file or block device): blocks go to the redo {@link Journal};
 * commit makes the journal durable with its commit record, then replays it onto the replica and
 * deletes it. Until the commit record is on disk the replica has not been touched.
 */
public final class JournaledReplica implements ReplicaTarget {

    private final Path destination;
    private final boolean blockDevice;
    private final Path journalPath;
    private final Journal.Writer journal;
    private final Optional<NativeIo> io;
    private final PointStore points;
    private final int keepPoints;
    private boolean committed;

    /**
     * @param keepPoints recovery points to keep (docs/points-format.md); 0 removes the replica's
     *                   points now, so that the replay has no point to capture undo data for
     */
    public JournaledReplica(Path destination, boolean blockDevice, Path journalPath, int blockSize, long targetLength,
            long basisLength, byte[] basisDigest, Optional<NativeIo> io, int keepPoints) throws IOException {
        this.io = io;
        this.keepPoints = keepPoints;
        this.points = PointStore.forJournal(journalPath, destination, blockDevice, io);
        // Before the journal can be committed: a replay finds the store, and records the new point.
        if (keepPoints > 0) {
            points.create();
        } else {
            points.prune(0);
        }
        this.destination = destination;
        this.blockDevice = blockDevice;
        this.journalPath = journalPath;
        this.journal = new Journal.Writer(journalPath, blockSize, targetLength, basisLength, basisDigest);
    }

    @Override
    public void same(int block) {
        // unchanged: nothing to record
    }

    @Override
    public void zero(int block, int length) throws IOException {
        journal.zero(block, length);
    }

    @Override
    public void data(int block, ByteBuffer content) throws IOException {
        journal.data(block, content);
    }

    @Override
    public void commit(byte[] targetDigest) throws IOException {
        journal.commit(targetDigest);
        journal.close();
        committed = true;
        Journal.Recovery applied = Journal.recover(journalPath, destination, blockDevice, io);
        if (applied != Journal.Recovery.REPLAYED) {
            throw new IOException("journal " + journalPath + " vanished or was unreadable at commit (" + applied
                    + "); the replica may be at the previous point and must not be trusted until the next cycle");
        }
        points.prune(keepPoints);
    }

    @Override
    public void abort() {
        try {
            journal.close();
            if (!committed) {
                Files.deleteIfExists(journalPath);
            }
        } catch (IOException ignored) {
            // an uncommitted journal left behind is discarded by the next run
        }
    }

    @Override
    public void close() throws IOException {
        journal.close();
    }
}
