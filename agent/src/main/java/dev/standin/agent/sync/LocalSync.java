package dev.standin.agent.sync;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.image.DiskImage;
import dev.standin.agent.replica.FreshReplica;
import dev.standin.agent.replica.Journal;
import dev.standin.agent.replica.JournalException;
import dev.standin.agent.replica.JournaledReplica;
import dev.standin.agent.replica.ReplicaTarget;
import dev.standin.agent.replica.SignatureCache;
import dev.standin.delta.BlockAssembler;
import dev.standin.delta.BlockSize;
import dev.standin.delta.DeltaOp;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.MatchStats;
import dev.standin.delta.SegmentDelta;
import dev.standin.delta.SegmentMatcher;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import dev.standin.delta.WeakIndex;
import dev.standin.delta.stream.DeltaDecoder;
import dev.standin.delta.stream.DeltaEncoder;
import dev.standin.delta.stream.DeltaFormatException;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * {@code standin sync SOURCE DEST} between local paths. The two halves of the algorithm run as they
 * will between hosts: the sending half reads the source and encodes a delta stream, the receiving
 * half decodes it on another thread, assembles blocks against the replica and commits; the stream
 * between them is the real wire format, so its size is the wire cost.
 *
 * <ol>
 *   <li>Recover: a journal left by an interrupted run is replayed (committed) or discarded.
 *   <li>Sign the replica (skipped for a first copy): every block's weak and strong sum.
 *   <li>Scan the source: each segment is matched against the signatures on the thread pool.
 *   <li>Apply: blocks go to a journal (existing replica) or a sparse staging file (first copy).
 *   <li>Verify and commit: the digest of what was assembled must equal the digest of what was read.
 * </ol>
 */
public final class LocalSync {

    private final SyncOptions options;
    private final Progress progress;
    private final Optional<NativeIo> io;

    public LocalSync(SyncOptions options, Progress progress) {
        this.options = options;
        this.progress = progress;
        this.io = options.useNative() ? NativeIo.tryLoad() : Optional.empty();
    }

    public SyncStats run() throws StandinException, InterruptedException {
        long started = System.nanoTime();
        Path destination = options.destination();
        try (DiskImage source = openSource()) {
            long length = sourceSize(source);
            try (DestinationLock lock = DestinationLock.acquire(destination)) {
                return syncLocked(source, length, destination, started);
            }
        } catch (IOException e) {
            throw classify(e, "");
        } finally {
            progress.finish();
        }
    }

    private SyncStats syncLocked(DiskImage source, long length, Path destination, long started)
            throws StandinException, InterruptedException, IOException {
        Journal.Recovery recovery = recover(destination);
        try (DiskImage replica = openReplica(destination)) {
            boolean firstCopy = replica == null || (!replica.isBlockDevice() && replica.size() == 0);
            long basisLength = firstCopy ? 0 : replica.isBlockDevice() ? length : replica.size();
            if (replica != null && replica.isBlockDevice() && replica.size() < length) {
                throw new StandinException(ExitStatus.DESTINATION, "destination " + destination + " holds "
                        + replica.size() + " bytes, less than the source's " + length);
            }
            if (firstCopy && !options.dryRun()) {
                checkRoomForFirstCopy(source, length, destination);
            }
            int blockSize = options.blockSize() != 0 ? options.blockSize()
                    : BlockSize.forImageSize(Math.max(length, basisLength));
            SegmentPipeline pipeline = new SegmentPipeline(Math.max(options.segmentSize(), blockSize), options.threads(),
                    options.idleIo(), io);
            Optional<Signatures> cached = firstCopy || replica.isBlockDevice() ? Optional.empty()
                    : loadCache(destination, blockSize);
            String signatureSource = firstCopy ? "none" : cached.isPresent() ? "cache" : "read";
            Signed signed = firstCopy ? new Signed(Signatures.empty(blockSize), 0)
                    : cached.isPresent() ? new Signed(cached.get(), 0) : sign(pipeline, replica, basisLength, blockSize);
            Signatures basis = signed.signatures();
            byte[] basisDigest = firstCopy ? DeltaHeader.NO_BASIS : basis.digest();
            DeltaHeader header = new DeltaHeader(blockSize, length, basisLength, basisDigest);
            Sent sent = send(pipeline, source, basis, header, firstCopy ? null : replica, firstCopy);
            MatchStats m = sent.stats;
            return new SyncStats(options.source().toString(), destination.toString(), length, blockSize,
                    m.blocks(), m.blocksSame(), m.blocksMoved(), m.blocksZero(), m.blocksChanged(),
                    sent.sourceRead + signed.bytesRead(), sent.sourceRead, signed.bytesRead(), signatureSource,
                    m.literalBytes(), sent.wireBytes,
                    options.compression().name().toLowerCase(java.util.Locale.ROOT), firstCopy, options.dryRun(),
                    recovery.name().toLowerCase(java.util.Locale.ROOT), ImageDigest.hex(sent.digest),
                    (System.nanoTime() - started) / 1e9);
        }
    }

    /**
     * Refuses a first copy that cannot fit before anything is written: it needs at most the
     * source's allocated extents (zero blocks inside them stay holes and need less).
     */
    private void checkRoomForFirstCopy(DiskImage source, long length, Path destination) throws StandinException, IOException {
        if (io.isEmpty()) {
            return;
        }
        long needed = 0;
        for (var extent : source.dataExtents(0, length)) {
            needed += extent.length();
        }
        Path directory = destination.toAbsolutePath().getParent();
        long available = io.get().statvfs(directory).availableBytes();
        if (needed > available) {
            throw new StandinException(ExitStatus.DESTINATION, "destination " + directory + " has " + available
                    + " bytes available but the first copy needs up to " + needed + "; nothing was written");
        }
    }

    private DiskImage openSource() throws StandinException {
        try {
            return DiskImage.open(options.source(), false, options.dropCache(), io);
        } catch (IOException e) {
            throw classify(e, "source ");
        }
    }

    private long sourceSize(DiskImage source) throws StandinException {
        try {
            return source.size();
        } catch (IOException e) {
            throw new StandinException(ExitStatus.SOURCE, "source " + source.path() + ": " + e.getMessage(), e);
        }
    }

    private Journal.Recovery recover(Path destination) throws StandinException {
        try {
            Files.deleteIfExists(FreshReplica.stagingPath(destination));
            if (!Files.exists(destination)) {
                return Journal.Recovery.NONE;
            }
            boolean device = isBlockDevice(destination);
            return Journal.recover(Journal.pathFor(destination, device, options.stateDirectory()), destination, device, io);
        } catch (JournalException e) {
            throw new StandinException(ExitStatus.PROTOCOL, "journal of " + destination + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.DESTINATION,
                    "cannot recover the journal of " + destination + ": " + e.getMessage(), e);
        }
    }

    private boolean isBlockDevice(Path path) throws IOException {
        if (Files.isRegularFile(path) || io.isEmpty()) {
            return false;
        }
        try (var f = io.get().open(path, false)) {
            return f.isBlockDevice();
        }
    }

    private DiskImage openReplica(Path destination) throws StandinException {
        if (!Files.exists(destination)) {
            Path parent = destination.toAbsolutePath().getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                throw new StandinException(ExitStatus.DESTINATION, "destination directory " + parent + " does not exist");
            }
            return null;
        }
        try {
            return DiskImage.open(destination, false, false, io);
        } catch (IOException e) {
            throw classify(e, "destination ");
        }
    }

    private static Optional<Signatures> loadCache(Path destination, int blockSize) {
        try {
            return SignatureCache.load(destination, blockSize);
        } catch (IOException e) {
            return Optional.empty(); // an unreadable cache only costs a read of the replica
        }
    }

    /** Reads the replica once and returns the signatures of its first {@code length} bytes. */
    private record Signed(Signatures signatures, long bytesRead) {}

    private Signed sign(SegmentPipeline pipeline, DiskImage replica, long length, int blockSize) throws StandinException {
        Signatures signatures = new Signatures(length, blockSize);
        progress.phase("signing replica", length);
        try {
            long bytesRead = pipeline.run(replica, length, (offset, data, n) -> {
                SignatureBuilder builder = new SignatureBuilder(signatures);
                if (data == null) {
                    builder.addZeros(offset, n);
                } else {
                    builder.add(offset, data, n);
                }
                return Boolean.TRUE;
            }, (offset, n, done) -> { }, progress::done);
            return new Signed(signatures, bytesRead);
        } catch (Exception e) {
            throw wrap(e, "destination ");
        }
    }

    private record Sent(MatchStats stats, long sourceRead, long wireBytes, byte[] digest) {}

    /**
     * Scans the source and streams the delta to the applier (or, in a dry run, only counts it).
     */
    private Sent send(SegmentPipeline pipeline, DiskImage source, Signatures basis, DeltaHeader header,
            DiskImage replica, boolean firstCopy) throws StandinException, InterruptedException {
        int blockSize = header.blockSize();
        WeakIndex index = firstCopy ? null : WeakIndex.of(basis);
        ThreadLocal<SegmentMatcher> matchers = ThreadLocal.withInitial(() -> new SegmentMatcher(basis, index, blockSize));
        BytePipe pipe = new BytePipe();
        CountingOutputStream wire = new CountingOutputStream(options.dryRun() ? OutputStream.nullOutputStream() : pipe.output());
        CompletableFuture<Void> applier = options.dryRun() ? CompletableFuture.completedFuture(null)
                : startApplier(pipe, basis, header, replica, firstCopy);
        ImageDigest digest = new ImageDigest(header.targetLength(), blockSize);
        MatchStats[] stats = {MatchStats.NONE};
        progress.phase(firstCopy ? "copying" : "scanning source", header.targetLength());
        try {
            DeltaEncoder encoder = new DeltaEncoder(wire, header, options.compression());
            long sourceRead = pipeline.run(source, header.targetLength(), (offset, data, n) -> {
                if (data != null) {
                    return matchers.get().match(offset, data, n);
                }
                return matchers.get().matchZeros(offset, n);
            }, (offset, n, delta) -> {
                for (DeltaOp op : delta.ops()) {
                    encoder.add(op);
                }
                addLeaves(digest, delta);
                stats[0] = stats[0].plus(delta.stats());
            }, progress::done);
            long sizeNow = sourceSize(source);
            if (sizeNow != header.targetLength()) {
                // Checked before the end frame, so the receiver never commits a torn read.
                throw new StandinException(ExitStatus.SOURCE, "source " + source.path() + " changed size during the cycle ("
                        + header.targetLength() + " -> " + sizeNow + " bytes); nothing was committed");
            }
            byte[] sourceDigest = digest.finish();
            encoder.finish(sourceDigest);
            wire.close();
            awaitApplier(applier);
            return new Sent(stats[0], sourceRead, wire.count(), sourceDigest);
        } catch (Exception e) {
            pipe.fail(new IOException("the sending side stopped: " + e.getMessage()));
            try {
                applier.get();
            } catch (ExecutionException applierFailure) {
                // When the receiving side failed first, the sender only saw the pipe close.
                if (applierFailure.getCause() instanceof Exception cause) {
                    throw wrap(cause, "destination ");
                }
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            throw wrap(e, "source ");
        }
    }

    private static void addLeaves(ImageDigest digest, SegmentDelta delta) {
        long[] hi = delta.leafHi();
        long[] lo = delta.leafLo();
        for (int i = 0; i < hi.length; i++) {
            digest.addLeaf(hi[i], lo[i]);
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
    private CompletableFuture<Void> startApplier(BytePipe pipe, Signatures basis, DeltaHeader expected, DiskImage replica,
            boolean firstCopy) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                apply(pipe, basis, expected, replica, firstCopy);
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

    private void apply(BytePipe pipe, Signatures basis, DeltaHeader expected, DiskImage replica, boolean firstCopy)
            throws IOException, StandinException {
        DeltaDecoder decoder = new DeltaDecoder(pipe.input());
        DeltaHeader header = decoder.header();
        if (!Arrays.equals(header.basisDigest(), expected.basisDigest()) || header.basisLength() != basis.length()) {
            throw new DeltaFormatException("delta was computed against another basis than this replica");
        }
        if (basis.blockCount() > 0 && header.blockSize() != basis.blockSize()) {
            throw new DeltaFormatException("delta uses " + header.blockSize() + "-byte blocks, the replica's signatures "
                    + basis.blockSize());
        }
        if (header.targetLength() / header.blockSize() > Integer.MAX_VALUE - 8) {
            throw new DeltaFormatException("delta claims a target of " + header.targetLength() + " bytes, too many blocks");
        }
        Path destination = options.destination();
        ReplicaTarget target = firstCopy
                ? new FreshReplica(destination, header.targetLength(), header.blockSize(), io, options.keepPoints())
                : new JournaledReplica(destination, replica.isBlockDevice(),
                        Journal.pathFor(destination, replica.isBlockDevice(), options.stateDirectory()),
                        header.blockSize(), header.targetLength(), basis.length(), header.basisDigest(), io,
                        options.keepPoints());
        Signatures written;
        try (target) {
            BlockAssembler assembler = new BlockAssembler(basis,
                    firstCopy ? (offset, dst) -> { throw new IOException("a first copy reads no basis"); }
                            : replica::readFully,
                    header.targetLength(), header.blockSize(), target);
            for (List<DeltaOp> frame; (frame = decoder.nextFrame()) != null; ) {
                for (DeltaOp op : frame) {
                    assembler.accept(op);
                }
            }
            decoder.expectEndOfInput();
            progress.phase("verifying and committing", 0);
            written = assembler.finish();
            byte[] writtenDigest = written.digest();
            if (!Arrays.equals(writtenDigest, decoder.targetDigest())) {
                target.abort();
                throw new StandinException(ExitStatus.VERIFY, "replica digest " + ImageDigest.hex(writtenDigest)
                        + " differs from the source's " + ImageDigest.hex(decoder.targetDigest())
                        + "; nothing was committed");
            }
            target.commit(writtenDigest);
        } catch (DeltaFormatException e) {
            target.abort();
            throw e;
        } catch (IOException e) {
            target.abort();
            throw new StandinException(ExitStatus.DESTINATION, "destination " + destination + ": " + e.getMessage(), e);
        } catch (RuntimeException | StandinException e) {
            target.abort();
            throw e;
        }
        if (!replicaIsDevice(replica)) {
            storeCache(destination, written);
        }
    }

    private static boolean replicaIsDevice(DiskImage replica) {
        return replica != null && replica.isBlockDevice();
    }

    /** The signatures just committed, so that the next cycle need not read the replica. */
    private static void storeCache(Path destination, Signatures signatures) {
        try {
            SignatureCache.store(destination, signatures);
        } catch (IOException e) {
            // Without a cache the next cycle reads the replica: slower, never wrong.
            try {
                SignatureCache.invalidate(destination);
            } catch (IOException ignored) {
                // a stale cache is refused by its identity check anyway
            }
        }
    }

    private static StandinException wrap(Exception e, String side) {
        if (e instanceof StandinException s) {
            return s;
        }
        if (e instanceof InterruptedException || e instanceof InterruptedIOException) {
            return new StandinException(ExitStatus.INTERRUPTED, "interrupted; the replica is unchanged", e);
        }
        if (e instanceof IOException io) {
            return classify(io, side);
        }
        return new StandinException(ExitStatus.ERROR, "internal error: " + e, e);
    }

    private static StandinException classify(IOException e, String side) {
        if (e instanceof DeltaFormatException) {
            return new StandinException(ExitStatus.PROTOCOL, "bad delta stream: " + e.getMessage(), e);
        }
        ExitStatus status = side.startsWith("source") ? ExitStatus.SOURCE : ExitStatus.DESTINATION;
        String what = e.getMessage();
        if (e instanceof NoSuchFileException) {
            what = e.getMessage() + ": no such file or directory";
        } else if (e instanceof AccessDeniedException) {
            what = e.getMessage() + ": permission denied";
        }
        if (what != null && what.contains("No space left")) {
            status = ExitStatus.DESTINATION;
        }
        return new StandinException(status, side + what, e);
    }
}
