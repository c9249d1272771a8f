package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import dev.standin.delta.Signatures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An update checkpoints its journal by the data it has received, not by the image it has covered:
 * a small change spread over the whole image makes no checkpoint (each costs two fdatasyncs), a
 * large one makes one per interval, and what a checkpoint claims is held.
 */
class CheckpointIT {

    private static final int B = 4096;
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void aSmallUpdateMakesNoCheckpointAndALargeOneMakesOnePerInterval() throws Exception {
        long length = 64 * MIB; // interval: 8 MiB
        assertEquals(8 * MIB, FreshReplica.checkpointInterval(length));
        assertEquals(Optional.empty(), checkpointAfterWriting(length, 1000, 16)); // 4 MiB spread over the image
        ResumeLog.Held held = checkpointAfterWriting(length, 3 * 1024, 4).orElseThrow(); // 12 MiB, every 4th block
        // One checkpoint: at the block where 8 MiB of data had arrived, the 2048th written, block 8188.
        assertEquals(8189, held.signatures().blockCount());
        assertTrue(held.journalLength() > 8 * MIB);
    }

    /** Journals {@code blocks} blocks of data, one every {@code stride}, and leaves the journal as a cut-off cycle does. */
    private Optional<ResumeLog.Held> checkpointAfterWriting(long length, int blocks, int stride) throws Exception {
        Path replica = Images.createRandom(dir.resolve("replica-" + blocks + ".img"), length, blocks);
        Path journal = Journal.pathFor(replica, false, dir.resolve("state"));
        JournaledReplica update = new JournaledReplica(replica, false, journal, B, length, length, new byte[32],
                Optional.empty(), 0);
        Signatures target = new Signatures(length, B);
        ByteBuffer data = ByteBuffer.allocate(B);
        for (int i = 0; i < blocks; i++) {
            int block = i * stride;
            update.data(block, data.clear());
            update.progress(block + 1, target);
        }
        update.abort();
        return ResumeLog.load(replica);
    }
}
