package dev.standin.agent.sync;

import dev.standin.agent.image.DiskImage;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.MatchStats;
import dev.standin.delta.MoveSearch;
import dev.standin.delta.SegmentDelta;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.Tracking;
import java.io.IOException;
import java.time.Duration;

/**
 * The sending half of every cycle, against any {@link Destination}: the one place that reads a
 * source, computes its delta and assembles the statistics.
 *
 * <ol>
 *   <li>Open: the destination locks and recovers the replica and says what it holds.
 *   <li>Basis: the replica's signatures (a cache, a read, a scrub, or the blocks an interrupted
 *       cycle holds); with a snapshot's change tracking that the basis proves applicable, only the
 *       changed extents are read. While the destination reads the replica for them, the source's
 *       block hashes are taken at the same time ({@link SourceHashes}), and only the segments
 *       where they differ are read again.
 *   <li>Deliver: segments are read and matched on the pipeline's threads while earlier ones are
 *       encoded into the destination's stream.
 *   <li>Commit: the destination verifies the assembled image's digest against the source's and
 *       commits it atomically.
 * </ol>
 */
public final class Cycle {

    /** A QEMU that serves nothing of a snapshot's view for this long fails the cycle rather than holding it. */
    private static final Duration NBD_PATIENCE = Duration.ofSeconds(60);

    private final SyncOptions options;
    private final Reading reading;
    private final Progress progress;

    /** {@code reading} is shared with a local destination, so that one read limit covers both sides. */
    public Cycle(SyncOptions options, Reading reading, Progress progress) {
        this.options = options;
        this.reading = reading;
        this.progress = progress;
    }

    /**
     * One cycle from {@code options.source()} to {@code replicaEnd}, which the caller closes; a dry
     * run goes through {@link DryRunDestination} around it.
     * {@code tracking}: what a snapshot hook knows of the source's changes; null without one.
     */
    public SyncStats run(Destination replicaEnd, Tracking tracking) throws StandinException, InterruptedException {
        long started = System.nanoTime();
        Destination destination = options.dryRun() ? new DryRunDestination(replicaEnd) : replicaEnd;
        try (DiskImage source = openSource()) {
            long length = SourceSender.sourceSize(source);
            long allocated = allocatedBytes(source, length);
            Destination.Replica replica = destination.open(new Destination.Opening(length, allocated,
                    options.blockSize(), options.dryRun(), options.keepPoints(), options.compression()));
            int blockSize = replica.blockSize();
            try (SourceHashes early = replica.basisRead()
                    ? SourceHashes.start(reading.pipeline(blockSize), source, length, blockSize) : null) {
                Destination.Basis basis = destination.basis();
                DeltaHeader header = new DeltaHeader(blockSize, length, basis.signatures().length(),
                        basis.headerDigest());
                TrackedScan scan = TrackedScan.decide(replica.resuming() ? null : tracking, replica.firstCopy(),
                        basis.source(), basis.signatures(), length);
                SegmentPipeline.Unread<SegmentDelta> unread = scan.unread() != null ? scan.unread()
                        : unchangedByHashes(early, length, basis.signatures());
                // A resumed cycle's basis is partly what it wrote itself, which is only valid at its own
                // offset. A tracked cycle reads only where the guest wrote, nearly always in place: an
                // index of the whole replica for moved data would cost 0.13-0.3 s per million blocks.
                MoveSearch moves = replica.resuming() || scan.unread() != null ? MoveSearch.NONE
                        : options.moveSearch();
                Destination.Delivery delivery = destination.deliver(header);
                CountingOutputStream wire = new CountingOutputStream(delivery.stream());
                SourceSender.Sent sent;
                try {
                    sent = SourceSender.send(reading.pipeline(blockSize), source, basis.signatures(), header, wire,
                            replica.codec(), moves, unread, delivery.wantsSignatures(), progress);
                    wire.flush();
                } catch (Exception e) {
                    throw delivery.failed(e);
                }
                Destination.Committed committed = delivery.commit(sent, wire.count());
                MatchStats m = sent.stats();
                long sourceRead = sent.sourceRead() + (early == null ? 0 : early.bytesRead());
                return new SyncStats(options.source().toString(), destination.name(), length, blockSize, m.blocks(),
                        m.blocksSame(), m.blocksMoved(), m.blocksZero(), m.blocksChanged(),
                        sourceRead + basis.bytesRead(), sourceRead, basis.bytesRead(), basis.source(),
                        m.literalBytes(), committed.wireBytes(), replica.codec().wireName(),
                        replica.firstCopy() || basis.source().isFirstCopyStaging(), options.dryRun(),
                        replica.resuming() ? CycleRecovery.RESUMED : replica.recovery(),
                        ImageDigest.hex(sent.digest()), scan.description(), (System.nanoTime() - started) / 1e9,
                        committed.pointId(), basis.pointsLost());
            }
        } catch (IOException e) {
            throw Failures.classify(e, "source ");
        } finally {
            progress.finish();
        }
    }

    /** The segments the source hashes taken during the basis read prove unchanged; null: read all. */
    private static SegmentPipeline.Unread<SegmentDelta> unchangedByHashes(SourceHashes early, long length,
            Signatures basis) throws InterruptedException {
        if (early == null) {
            return null;
        }
        return early.leaves().map(leaves -> UnchangedSegments.hashedAs(leaves, length, basis)).orElse(null);
    }

    private DiskImage openSource() throws StandinException {
        try {
            if (options.sourceExport().isPresent()) {
                return DiskImage.nbd(options.source(), options.sourceExport().get(), options.threads(), NBD_PATIENCE);
            }
            return DiskImage.open(options.source(), false, options.dropCache(), reading.io());
        } catch (IOException e) {
            throw Failures.classify(e, "source ");
        }
    }

    /** What a first copy needs at most: a destination refuses one that cannot fit before writing. */
    private static long allocatedBytes(DiskImage source, long length) throws StandinException {
        try {
            return SourceSender.allocatedBytes(source, length);
        } catch (IOException e) {
            throw Failures.classify(e, "source ");
        }
    }
}
