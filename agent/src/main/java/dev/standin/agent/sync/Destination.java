package dev.standin.agent.sync;

import dev.standin.delta.Signatures;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.StandinException;
import java.io.OutputStream;
import java.util.List;
import java.util.Objects;

/**
 * The replica end of one cycle, as the sending side sees it: in this process
 * ({@link LocalDestination}) or on another host through {@code standin serve}
 * ({@code transport.SshDestination}). {@link Cycle} calls {@link #open}, {@link #basis},
 * {@link #deliver} and the delivery's {@link Delivery#commit commit}, in that order, once each;
 * then {@link #close}. The contract, which {@code DestinationContract} tests against both:
 * <ol>
 *   <li>{@link #open} MUST lock the replica for this cycle (another cycle on it waits or fails,
 *       never interleaves) and MUST bring it to its last committed point first: a journal left by
 *       an interrupted cycle is replayed if its commit record was written, else discarded or held
 *       for resuming. It MUST refuse a replica that a failed-over VM runs on (its in-use mark),
 *       with a transient failure and without writing anything.
 *   <li>Until {@link Delivery#commit} returns, the replica reads as its last committed point and
 *       its recovery points are all kept, whatever fails: an exception, a closed connection, a
 *       killed process or a crash at any call.
 *   <li>{@link Delivery#commit} MUST make the replica equal to the delivered stream's image, and
 *       durably, only if the assembled image's digest equals the one the stream ends with; else it
 *       throws (exit 6) and changes nothing. A crash inside it leaves the old point or the new
 *       one, never a mix; the next {@link #open} settles which.
 *   <li>Every failure is a {@link StandinException} that names its side ("source ...",
 *       "destination ...", "receiver HOST: ...") and says by its status whether retrying can help.
 *   <li>{@link #close} releases the lock and never changes the replica. It is safe after any
 *       failure and idempotent.
 * </ol>
 * A dry run is {@link DryRunDestination} around any destination: it calls {@link #open} (with
 * {@link Opening#dryRun}, which a destination MUST only use to skip what prepares a write) and
 * {@link #basis}, never {@link #deliver}, then {@link #close}.
 */
public interface Destination extends AutoCloseable {

    /**
     * What the sender asks for. {@code blockSize} 0: the destination chooses by the block-size rule
     * (the larger of the source and the replica decides); {@code keepPoints} recovery points after
     * the commit; {@code compression} the codec the user asked for, which the destination narrows to
     * one its receiving side reads.
     */
    record Opening(long sourceLength, long sourceAllocated, int blockSize, boolean dryRun, int keepPoints,
            Compression compression) {
        public Opening {
            Objects.requireNonNull(compression, "compression");
        }
    }

    /**
     * The replica as {@link #open} found it. {@code basisLength}: the bytes of the replica a delta is
     * computed against (0 for a first copy, the source's length for a block device); {@code resuming}:
     * an interrupted cycle to this very image holds blocks this one continues from;
     * {@code basisRead}: {@link #basis} will read the whole replica (no signatures of it are held
     * anywhere), so the sender hashes its source meanwhile. A hint for speed only: a wrong one
     * costs time, never a wrong replica.
     */
    record Replica(boolean firstCopy, int blockSize, long basisLength, boolean resuming, CycleRecovery recovery,
            Compression codec, boolean basisRead) {}

    /**
     * The signatures the delta is computed against, the digest the delta's header names as its basis,
     * where they came from, the replica bytes read for them, and the recovery points the commit will
     * drop because the replica is no longer their newest point's content (docs/points-format.md).
     */
    record Basis(Signatures signatures, byte[] headerDigest, SignatureSource source, long bytesRead,
            List<Long> pointsLost) {
        public Basis {
            pointsLost = List.copyOf(pointsLost);
        }
    }

    /** A committed cycle: its recovery point (0: none kept) and the bytes that crossed the wire both ways. */
    record Committed(long pointId, long wireBytes) {}

    /** One delta stream on its way to the replica. */
    interface Delivery {

        /** Where the sender writes the delta stream; the sender flushes it but does not close it. */
        OutputStream stream();

        /**
         * Whether the sender should compute the replica's next signatures while it scans (and pass
         * them to {@link #commit}), so the destination need not send them back.
         */
        boolean wantsSignatures();

        /**
         * Ends the stream and waits for the replica's commit. {@code scan} is what the sender read;
         * {@code deltaBytes} what it wrote to {@link #stream}.
         */
        Committed commit(SourceSender.Sent scan, long deltaBytes) throws StandinException, InterruptedException;

        /**
         * The sender failed while writing the stream with {@code cause}; returns the failure to
         * report, which is the destination's own when it failed first (the sender then only saw its
         * stream close). Nothing is committed after this.
         */
        StandinException failed(Exception cause);
    }

    /** How the stats name this destination: a path, or {@code host:path}. */
    String name();

    Replica open(Opening opening) throws StandinException, InterruptedException;

    Basis basis() throws StandinException, InterruptedException;

    Delivery deliver(DeltaHeader header) throws StandinException;

    @Override
    void close() throws StandinException;
}
