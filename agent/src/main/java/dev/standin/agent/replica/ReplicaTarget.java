package dev.standin.agent.replica;

import dev.standin.delta.BlockAssembler;
import java.io.IOException;

/**
 * Where the blocks of a new recovery point go until it is committed. Contract: until
 * {@link #commit} returns, the replica as seen by anyone opening it is byte-identical to its
 * previous point; after it returns, to the new one; a crash in between leaves a state that the
 * next run turns into one or the other without operator action.
 */
public interface ReplicaTarget extends BlockAssembler.BlockSink, AutoCloseable {

    /**
     * Makes the received blocks durable, then the replica's content, atomically. The caller has
     * checked that the blocks received form the image with {@code targetDigest}.
     */
    void commit(byte[] targetDigest) throws IOException;

    /**
     * Stops; the replica stays at its previous point. What was received may be kept to resume
     * from (see {@link FreshReplica}). Never throws.
     */
    void abort();

    /** Stops and drops everything received, resumable or not: it cannot be trusted. Never throws. */
    default void discard() {
        abort();
    }

    @Override
    void close() throws IOException;
}
