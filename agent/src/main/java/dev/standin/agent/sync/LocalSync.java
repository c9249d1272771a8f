package dev.standin.agent.sync;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.image.DiskImage;
import dev.standin.delta.BlockSize;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.MatchStats;
import dev.standin.delta.MoveSearch;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.nativeio.NativeIo;
import dev.standin.snapshot.Tracking;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * {@code standin sync SOURCE DEST} between local paths. The two halves run as they do between
 * hosts: {@link SourceSender} reads the source and encodes a delta stream, {@link ReplicaSession}
 * decodes it on another thread, assembles blocks against the replica and commits; the stream
 * between them is the real wire format, so its size is the wire cost.
 *
 * <ol>
 *   <li>Recover: a journal left by an interrupted run is replayed (committed) or discarded.
 *   <li>Sign the replica (skipped for a first copy, or when the signature cache is valid).
 *   <li>Scan the source: each segment is matched against the signatures on the thread pool.
 *   <li>Apply: blocks go to a journal (existing replica) or a sparse staging file (first copy).
 *   <li>Verify and commit: the digest of what was assembled must equal the digest of what was read.
 * </ol>
 */
public final class LocalSync {

    private final SyncOptions options;
    private final Progress progress;
    private final Optional<NativeIo> io;
    private final Optional<ReplicaSigner> replicaSigner;
    private final Tracking tracking;

    public LocalSync(SyncOptions options, Progress progress) {
        this(options, progress, Optional.empty(), null);
    }

    /** With a {@code replicaSigner}, the replica's signatures come from it, never from the cache. */
    public LocalSync(SyncOptions options, Progress progress, Optional<ReplicaSigner> replicaSigner) {
        this(options, progress, replicaSigner, null);
    }

    /** {@code tracking}: what a snapshot hook knows about changes in the source; null without --snapshot. */
    public LocalSync(SyncOptions options, Progress progress, Tracking tracking) {
        this(options, progress, Optional.empty(), tracking);
    }

    private LocalSync(SyncOptions options, Progress progress, Optional<ReplicaSigner> replicaSigner, Tracking tracking) {
        this.options = options;
        this.progress = progress;
        this.io = options.useNative() ? NativeIo.tryLoad() : Optional.empty();
        this.replicaSigner = replicaSigner;
        this.tracking = tracking;
    }

    public SyncStats run() throws StandinException, InterruptedException {
        long started = System.nanoTime();
        refuseSameImage(options);
        try (DiskImage source = openSource(options, io)) {
            long length = SourceSender.sourceSize(source);
            try (ReplicaSession replica = ReplicaSession.open(options.destination(), options.stateDirectory(), io)) {
                return sync(source, length, replica, started);
            }
        } catch (IOException e) {
            throw Failures.classify(e, "source ");
        } finally {
            progress.finish();
        }
    }

    /** A replica of an image onto itself would write its side files beside the source, and "succeed". */
    private static void refuseSameImage(SyncOptions options) throws StandinException {
        boolean same;
        try {
            same = DiskImage.sameImage(options.source(), options.destination());
        } catch (IOException e) {
            return; // opening either says what is wrong with it, with its side
        }
        if (same) {
            throw new StandinException(ExitStatus.USAGE, "source " + options.source() + " and destination "
                    + options.destination() + " are the same image; name a replica elsewhere");
        }
    }

    static DiskImage openSource(SyncOptions options, Optional<NativeIo> io) throws StandinException {
        try {
            return DiskImage.open(options.source(), false, options.dropCache(), io);
        } catch (IOException e) {
            throw Failures.classify(e, "source ");
        }
    }

    private SyncStats sync(DiskImage source, long length, ReplicaSession replica, long started)
            throws StandinException, InterruptedException {
        boolean firstCopy = replica.firstCopy();
        long basisLength = replica.basisLength(length);
        int blockSize = options.blockSize() != 0 ? options.blockSize()
                : BlockSize.forImageSize(Math.max(length, basisLength));
        boolean resuming = replicaSigner.isEmpty() && replica.resumable(length, blockSize).isPresent();
        replica.checkTarget(length, blockSize);
        if (firstCopy && !options.dryRun()) {
            try {
                replica.checkRoomForFirstCopy(SourceSender.allocatedBytes(source, length));
            } catch (IOException e) {
                throw Failures.classify(e, "source ");
            }
        }
        SegmentPipeline pipeline = new SegmentPipeline(Math.max(options.segmentSize(), blockSize), options.threads(),
                options.idleIo(), io);
        if (options.readBytesPerSecond() > 0) {
            pipeline = pipeline.limitingReads(new RateLimiter(options.readBytesPerSecond()));
        }
        ReplicaSession.Signed signed = replicaSigner.isPresent() && !firstCopy
                ? replica.signWith(replicaSigner.get(), pipeline, basisLength, blockSize)
                : replica.signatures(blockSize, pipeline, progress, length);
        Signatures basis = signed.signatures();
        List<Long> pointsLost = replica.pointsLostWith(basis);
        byte[] basisDigest = firstCopy && !resuming ? DeltaHeader.NO_BASIS : basis.digest();
        DeltaHeader header = new DeltaHeader(blockSize, length, basis.length(), basisDigest);
        TrackedScan scan = resuming ? TrackedScan.decide(null, firstCopy, signed.source(), basis, length)
                : TrackedScan.decide(tracking, firstCopy, signed.source(), basis, length);
        Sent sent = send(pipeline, source, basis, header, replica, !resuming, scan.unread());
        MatchStats m = sent.stats;
        return new SyncStats(options.source().toString(), options.destination().toString(), length, blockSize,
                m.blocks(), m.blocksSame(), m.blocksMoved(), m.blocksZero(), m.blocksChanged(),
                sent.sourceRead + signed.bytesRead(), sent.sourceRead, signed.bytesRead(), signed.source(),
                m.literalBytes(), sent.wireBytes, codec().wireName(), firstCopy,
                options.dryRun(), resuming ? "resumed" : replica.recovery().name().toLowerCase(Locale.ROOT), ImageDigest.hex(sent.digest),
                scan.description(), (System.nanoTime() - started) / 1e9, pointsLost);
    }

    private record Sent(MatchStats stats, long sourceRead, long wireBytes, byte[] digest) {}

    /** Scans the source and streams the delta to the applier (or, in a dry run, only counts it). */
    /** Both halves are this build: zstd is one stream across frames. */
    private Compression codec() {
        return options.compression().forReader(Compression.readable());
    }

    private Sent send(SegmentPipeline pipeline, DiskImage source, Signatures basis, DeltaHeader header,
            ReplicaSession replica, boolean findMoved, UnchangedSegments unread)
            throws StandinException, InterruptedException {
        BytePipe pipe = new BytePipe();
        CountingOutputStream wire = new CountingOutputStream(options.dryRun() ? OutputStream.nullOutputStream() : pipe.output());
        CompletableFuture<Void> applier = options.dryRun() ? CompletableFuture.completedFuture(null)
                : startApplier(pipe, replica, header.targetLength(), basis, header.basisDigest());
        try {
            // A tracked cycle reads only where the guest wrote, nearly always in place: an index of
            // the whole replica for moved data would cost 0.13-0.3 s per million blocks, in
            // proportion to the disk rather than to the change.
            SourceSender.Sent sent = SourceSender.send(pipeline, source, basis, header, wire, codec(),
                    findMoved && unread == null ? options.moveSearch() : MoveSearch.NONE, unread, false, progress);
            wire.close();
            awaitApplier(applier);
            return new Sent(sent.stats(), sent.sourceRead(), wire.count(), sent.digest());
        } catch (Exception e) {
            pipe.fail(new IOException("the sending side stopped: " + e.getMessage()));
            boolean interrupted = Failures.isInterruption(e);
            try {
                applier.get();
            } catch (ExecutionException applierFailure) {
                // When the receiving side failed first, the sender only saw the pipe close.
                if (!interrupted && applierFailure.getCause() instanceof Exception cause) {
                    throw Failures.wrap(cause, "destination ");
                }
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            throw Failures.wrap(e, "source ");
        }
    }

    private static void awaitApplier(CompletableFuture<Void> applier) throws Exception {
        try {
            applier.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }

    /** The receiving half, on its own thread: decode, check, assemble, journal, verify, commit. */
    private CompletableFuture<Void> startApplier(BytePipe pipe, ReplicaSession replica, long targetLength,
            Signatures basis, byte[] basisDigest) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                replica.keepSignatures(replica.apply(pipe.input(), targetLength, basis, basisDigest,
                        options.keepPoints(), progress));
                done.complete(null);
            } catch (Throwable e) {
                pipe.fail(e instanceof IOException io ? io : new IOException(e.toString(), e));
                done.completeExceptionally(e);
            }
        }, "standin-apply");
        thread.setDaemon(true);
        thread.start();
        return done;
    }
}
