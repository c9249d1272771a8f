package dev.standin.agent.sync;

import dev.standin.agent.image.DiskImage;
import dev.standin.agent.replica.FreshReplica;
import dev.standin.agent.replica.Journal;
import dev.standin.agent.replica.JournalException;
import dev.standin.agent.replica.JournaledReplica;
import dev.standin.agent.replica.Point;
import dev.standin.agent.replica.PointStore;
import dev.standin.agent.replica.ReplicaTarget;
import dev.standin.agent.replica.ResumeLog;
import dev.standin.agent.replica.SignatureCache;
import dev.standin.agent.replica.SignatureOverlay;
import dev.standin.delta.BlockAssembler;
import dev.standin.delta.DeltaOp;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.DeltaDecoder;
import dev.standin.delta.stream.DeltaFormatException;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The receiving half of a cycle, for one replica, from lock to commit. The same code runs in
 * {@code standin sync} between local paths and in {@code standin serve} on the replica's host, so
 * a replica is written one way only.
 *
 * <ol>
 *   <li>{@link #open}: take the destination lock, then replay or discard a journal left by an
 *       interrupted run.
 *   <li>{@link #signatures}: the replica's block signatures, from the cache beside it when that
 *       still describes it, else by reading it.
 *   <li>{@link #apply}: decode a delta stream, assemble it against the replica into a journal (or
 *       a staging file for a first copy), check the assembled digest against the sender's, commit.
 * </ol>
 */
public final class ReplicaSession implements AutoCloseable {

    /**
     * The most blocks a sender may ask this receiver to hold. The receiver keeps 24 bytes of
     * signature per block (basis and target, 12 each), and a local sync adds the sender's weak
     * index, 16 bytes per block at a power of two, and in a seeding cycle the source's hashes, 8:
     * 2^24 blocks is 768 MiB of heap, far above what the block-size rule ever picks (2^20: 48 MiB),
     * and it stops a forged header from claiming 2^40.
     */
    public static final long MAX_BLOCKS = 1L << 24;

    /** The replica's block signatures and how many bytes of the replica were read for them. */
    public record Signed(Signatures signatures, long bytesRead, SignatureSource source) {}

    /**
     * A committed cycle: the replica's new signatures and digest, the recovery point it is (0: none
     * kept), and the replica file's identity right after the commit (empty for a block device).
     */
    public record Committed(Signatures signatures, byte[] digest, long pointId,
            Optional<SignatureCache.Identity> identity) {}

    private final Path destination;
    private final Path stateDirectory;
    private final Optional<NativeIo> io;
    private final DestinationLock lock;
    private final Journal.Recovery recovery;
    private final DiskImage replica;
    private Optional<Signatures> cached;
    private int cachedBlockSize;
    private Optional<ResumeLog.Held> resume = Optional.empty();
    private Signatures overlay;
    private List<Long> droppedPoints = List.of();

    private ReplicaSession(Path destination, Path stateDirectory, Optional<NativeIo> io, DestinationLock lock,
            Journal.Recovery recovery, DiskImage replica) {
        this.destination = destination;
        this.stateDirectory = stateDirectory;
        this.io = io;
        this.lock = lock;
        this.recovery = recovery;
        this.replica = replica;
    }

    /** Locks {@code destination} for this cycle and brings it to its last committed point. */
    public static ReplicaSession open(Path destination, Path stateDirectory, Optional<NativeIo> io)
            throws StandinException {
        DestinationLock lock;
        try {
            if (Files.notExists(destination) || Files.isRegularFile(destination)) { // a device keeps them in the state dir
                dev.standin.agent.replica.SideFiles.refuseLinksBeside(destination);
            }
            lock = DestinationLock.acquire(destination);
        } catch (dev.standin.agent.replica.SideFiles.LinkRefusedException e) {
            throw new StandinException(ExitStatus.DESTINATION, e.getMessage(), e);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.DESTINATION, "cannot lock " + destination + ": " + Failures.reason(e), e);
        }
        try {
            Journal.Recovery recovery = recover(destination, stateDirectory, io);
            DiskImage replica = openReplica(destination, io);
            return new ReplicaSession(destination, stateDirectory, io, lock, recovery, replica);
        } catch (StandinException | RuntimeException e) {
            closeQuietly(lock);
            throw e;
        }
    }

    public Path destination() {
        return destination;
    }

    public Journal.Recovery recovery() {
        return recovery;
    }

    /** True when there is nothing to update: the destination is missing or an empty file. */
    public boolean firstCopy() throws StandinException {
        return replica == null || (!replica.isBlockDevice() && size() == 0);
    }

    public boolean isBlockDevice() {
        return replica != null && replica.isBlockDevice();
    }

    /** The replica's size in bytes, 0 when it does not exist. */
    public long size() throws StandinException {
        try {
            return replica == null ? 0 : replica.size();
        } catch (IOException e) {
            throw Failures.classify(e, "destination " + destination + ": ");
        }
    }

    /** How many bytes of the replica a delta to a {@code targetLength}-byte image is computed against. */
    public long basisLength(long targetLength) throws StandinException {
        return firstCopy() ? 0 : isBlockDevice() ? targetLength : size();
    }

    /** Refuses a target this replica cannot hold, before anything is read or written. */
    public void checkTarget(long targetLength, int blockSize) throws StandinException {
        // Divided before rounding up: a forged 2^63-1 would overflow "length + blockSize - 1".
        if (targetLength < 0 || targetLength / blockSize + (targetLength % blockSize == 0 ? 0 : 1) > MAX_BLOCKS) {
            throw new StandinException(ExitStatus.PROTOCOL, "a " + targetLength + "-byte image in " + blockSize
                    + "-byte blocks is more than the " + MAX_BLOCKS + " blocks a receiver holds; use a larger block size");
        }
        if (isBlockDevice() && size() < targetLength) {
            throw new StandinException(ExitStatus.DESTINATION, "destination " + destination + " holds " + size()
                    + " bytes, less than the source's " + targetLength);
        }
    }

    /**
     * Refuses a first copy that cannot fit before anything is written; {@code needed} is at most
     * the source's allocated bytes (zero blocks stay holes and cost nothing).
     */
    public void checkRoomForFirstCopy(long needed) throws StandinException {
        if (io.isEmpty() || isBlockDevice()) {
            return;
        }
        Path directory = destination.toAbsolutePath().getParent();
        long available;
        try {
            available = io.get().statvfs(directory).availableBytes();
        } catch (IOException e) {
            return; // the write itself will say ENOSPC, and the staging file is then removed
        }
        if (needed > available) {
            throw new StandinException(ExitStatus.DESTINATION, "destination " + directory + " has " + available
                    + " bytes available but the first copy needs up to " + needed + "; nothing was written", null,
                    Failures.PERMANENT);
        }
    }

    /**
     * The signatures the signature cache holds for the replica as it is now, if any; loaded once.
     * Block devices never have one (see docs/signature-cache.md).
     */
    public Optional<Signatures> cachedSignatures(int blockSize) throws StandinException {
        if (firstCopy() || isBlockDevice()) {
            return Optional.empty();
        }
        if (cached == null || cachedBlockSize != blockSize) {
            cachedBlockSize = blockSize;
            try {
                cached = SignatureCache.load(destination, blockSize);
            } catch (IOException e) {
                cached = Optional.empty(); // an unreadable cache only costs a read of the replica
            }
        }
        return cached;
    }

    /**
     * What an interrupted earlier cycle to the same image (length, block size) already holds:
     * the first blocks of a first copy ({@link FreshReplica}), or of an update's journal
     * ({@link JournaledReplica}) when the replica is provably still the basis it was computed
     * against. The held blocks then become part of this cycle's basis ({@link #signatures}), and
     * the sender matches same-offset blocks only.
     */
    public Optional<ResumeLog.Held> resumable(long targetLength, int blockSize) throws StandinException {
        resume = Optional.empty();
        overlay = null;
        if (firstCopy() && replica == null) {
            resume = FreshReplica.resumable(destination)
                    .filter(h -> h.targetLength() == targetLength && h.blockSize() == blockSize && h.bytes() > 0);
            resume.ifPresent(h -> overlay = h.signatures());
        } else if (!firstCopy() && !isBlockDevice()) {
            Optional<Signatures> current = cachedSignatures(blockSize);
            resume = JournaledReplica.resumable(destination, journalPath())
                    .filter(h -> h.targetLength() == targetLength && h.blockSize() == blockSize && h.bytes() > 0)
                    .filter(h -> current.isPresent() && h.bytes() <= current.get().length()
                            && Arrays.equals(h.basisDigest(), current.get().digest()));
            if (resume.isPresent()) {
                Signatures held = resume.get().signatures();
                overlay = SignatureOverlay.of(current.get(), held);
            }
        }
        return resume;
    }

    /** Bytes an interrupted earlier cycle holds for this one, after {@link #resumable}; 0 when none. */
    public long heldBytes() {
        return resume.map(ResumeLog.Held::bytes).orElse(0L);
    }

    private Path journalPath() {
        return Journal.pathFor(destination, isBlockDevice(), stateDirectory);
    }

    /**
     * The replica's signatures: none for a first copy (or those of the blocks an interrupted first
     * copy holds, after {@link #resumable}), the cache when valid, else read.
     */
    public Signed signatures(int blockSize, SegmentPipeline pipeline, Progress progress, long targetLength)
            throws StandinException {
        if (firstCopy()) {
            return resume.map(h -> new Signed(overlay, 0, SignatureSource.PARTIAL))
                    .orElseGet(() -> new Signed(Signatures.empty(blockSize), 0, SignatureSource.NONE));
        }
        if (overlay != null) {
            return new Signed(overlay, 0, SignatureSource.RESUME);
        }
        Optional<Signatures> fromCache = cachedSignatures(blockSize);
        if (fromCache.isPresent()) {
            return new Signed(fromCache.get(), 0, SignatureSource.CACHE);
        }
        return read(blockSize, pipeline, progress, basisLength(targetLength));
    }

    /** The replica's signatures from {@code signer} (a scrub), in place of the cache or a plain read. */
    public Signed signWith(ReplicaSigner signer, SegmentPipeline pipeline, long length, int blockSize)
            throws StandinException {
        ReplicaSigner.Signed s;
        try {
            s = signer.sign(pipeline, replica, length, blockSize);
        } catch (Exception e) {
            throw Failures.wrap(e, "destination ");
        }
        if (s.signatures().length() != length || s.signatures().blockSize() != blockSize) {
            throw new IllegalStateException("replica signer returned " + s.signatures() + " for " + length
                    + " bytes in blocks of " + blockSize);
        }
        return new Signed(s.signatures(), s.bytesRead(), SignatureSource.SCRUB);
    }

    private Signed read(int blockSize, SegmentPipeline pipeline, Progress progress, long length) throws StandinException {
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
            return new Signed(signatures, bytesRead, SignatureSource.READ);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StandinException(ExitStatus.INTERRUPTED, "interrupted; the replica is unchanged", e);
        } catch (Exception e) {
            throw Failures.wrap(e, "destination ");
        }
    }

    /**
     * Decodes one delta stream from {@code in}, assembles it against the replica and commits it.
     * The stream must be computed against {@code basis}; the assembled image's digest must equal
     * the one the sender put in its end frame, or nothing is committed. Then call
     * {@link #keepSignatures}.
     */
    public Committed apply(InputStream in, long targetLength, Signatures basis, byte[] basisDigest, int keepPoints,
            Progress progress) throws StandinException, IOException {
        try (DeltaDecoder decoder = new DeltaDecoder(in)) {
            return apply(decoder, targetLength, basis, basisDigest, keepPoints, progress);
        }
    }

    /** {@code targetLength}: the source's length the sender announced (Open), which the delta must build. */
    private Committed apply(DeltaDecoder decoder, long targetLength, Signatures basis, byte[] basisDigest,
            int keepPoints, Progress progress) throws StandinException, IOException {
        DeltaHeader header = decoder.header();
        if (header.targetLength() != targetLength) {
            throw new DeltaFormatException("delta builds a " + header.targetLength() + "-byte image, the sender announced "
                    + targetLength);
        }
        if (!Arrays.equals(header.basisDigest(), basisDigest) || header.basisLength() != basis.length()) {
            throw new DeltaFormatException("delta was computed against another basis than this replica");
        }
        // Also for a first copy: its blocks were agreed in Ready, and the staging file is laid out in them.
        if (header.blockSize() != basis.blockSize()) {
            throw new DeltaFormatException("delta uses " + header.blockSize() + "-byte blocks, this cycle's are "
                    + basis.blockSize());
        }
        checkTarget(header.targetLength(), header.blockSize());
        boolean firstCopy = firstCopy();
        boolean resuming = overlay != null && basis == overlay;
        if (firstCopy && basis.length() > 0 && !resuming) {
            throw new DeltaFormatException("delta was computed against a partial first copy this receiver did not offer");
        }
        if (!firstCopy && !resuming) {
            dropLostPoints(basis);
        }
        ReplicaTarget target = firstCopy
                ? (resuming ? FreshReplica.resume(destination, resume.get(), io, keepPoints)
                        : FreshReplica.create(destination, header.targetLength(), header.blockSize(), io, keepPoints))
                : resuming ? JournaledReplica.resume(destination, journalPath(), resume.get(), io, keepPoints)
                : new JournaledReplica(destination, isBlockDevice(), journalPath(), header.blockSize(),
                        header.targetLength(), basis.length(), header.basisDigest(), io, keepPoints);
        FreshReplica fresh = target instanceof FreshReplica f ? f : null;
        JournaledReplica journaled = target instanceof JournaledReplica j ? j : null;
        Signatures written;
        byte[] writtenDigest;
        try (target) {
            BlockAssembler assembler = new BlockAssembler(basis,
                    fresh != null ? (offset, dst) -> readFully(fresh.stagingChannel(), offset, dst) : replica::readFully,
                    header.targetLength(), header.blockSize(), target);
            for (List<DeltaOp> frame; (frame = decoder.nextFrame()) != null; ) {
                for (DeltaOp op : frame) {
                    assembler.accept(op);
                }
                if (fresh != null) {
                    fresh.progress(assembler.completedBlocks(), assembler.targetSoFar());
                } else {
                    journaled.progress(assembler.completedBlocks(), assembler.targetSoFar());
                }
            }
            decoder.expectEndOfInput();
            progress.phase("verifying and committing", 0);
            written = assembler.finish();
            writtenDigest = written.digest();
            if (!Arrays.equals(writtenDigest, decoder.targetDigest())) {
                target.discard();
                throw new StandinException(ExitStatus.VERIFY, "replica digest " + ImageDigest.hex(writtenDigest)
                        + " differs from the source's " + ImageDigest.hex(decoder.targetDigest())
                        + "; nothing was committed");
            }
            target.commit(writtenDigest);
        } catch (DeltaFormatException e) {
            target.abort();
            throw e;
        } catch (IOException e) {
            // A write failed (ENOSPC, EIO): a kept partial first copy would only hold the space.
            target.discard();
            throw Failures.classify(e, "destination " + destination + ": ");
        } catch (RuntimeException | StandinException e) {
            target.abort();
            throw e;
        }
        return new Committed(written, writtenDigest, newestPoint(), committedIdentity());
    }

    /**
     * The recovery points a cycle against {@code basis} (the replica as it was just signed) drops
     * because the replica no longer holds its newest point: changed outside standin, truncated,
     * or drifted ({@link PointStore#lostWith}). Ids, oldest first; empty when the replica is intact.
     * A dry run reports these; {@link #apply} drops them before its journal starts.
     */
    public List<Long> pointsLostWith(Signatures basis) throws StandinException {
        if (firstCopy() || (overlay != null && basis == overlay)) {
            return List.of();
        }
        try {
            return ids(points().lostWith(basis.length(), basis.digest()));
        } catch (IOException e) {
            throw pointsFailure(e);
        }
    }

    private void dropLostPoints(Signatures basis) throws StandinException {
        try {
            List<Point> dropped = points().dropLost(basis.length(), basis.digest());
            if (!dropped.isEmpty()) {
                droppedPoints = ids(dropped);
            }
        } catch (IOException e) {
            throw pointsFailure(e);
        }
    }

    /** The points {@link #apply} dropped before its journal started; empty if none. */
    public List<Long> droppedPoints() {
        return droppedPoints;
    }

    private PointStore points() {
        return PointStore.of(destination, isBlockDevice(), stateDirectory, io);
    }

    private static List<Long> ids(List<Point> points) {
        return points.stream().map(Point::id).toList();
    }

    private StandinException pointsFailure(IOException e) {
        if (e instanceof dev.standin.agent.replica.PointFormatException f) {
            return new StandinException(f.otherVersion() ? ExitStatus.PROTOCOL : ExitStatus.VERIFY, e.getMessage(), e);
        }
        return Failures.classify(e, "recovery points of " + destination + ": ");
    }

    /**
     * Keeps the signatures of a commit beside the replica, so that the next cycle need not read it.
     * Separate from {@link #apply} so that a receiver can first tell its sender that the commit
     * stands: a cache that is never written only costs the next cycle a read of the replica.
     */
    public void keepSignatures(Committed committed) {
        committed.identity().ifPresent(identity -> storeCache(committed.signatures(), identity));
    }

    /** The file replica's identity now, for its signature cache; empty when it cannot be told. */
    private Optional<SignatureCache.Identity> committedIdentity() {
        if (isBlockDevice()) {
            return Optional.empty();
        }
        try {
            return Optional.of(SignatureCache.Identity.of(destination));
        } catch (IOException e) {
            return Optional.empty(); // no cache then: the next cycle reads the replica
        }
    }

    private long newestPoint() {
        try {
            List<Point> points = PointStore.of(destination, isBlockDevice(), stateDirectory, io).points();
            return points.isEmpty() ? 0 : points.get(points.size() - 1).id();
        } catch (IOException e) {
            return 0; // the commit stands; only the report of its point id is missing
        }
    }

    /** The signatures just committed, so that the next cycle need not read the replica. */
    private void storeCache(Signatures signatures, SignatureCache.Identity identity) {
        try {
            SignatureCache.store(destination, signatures, identity);
        } catch (IOException e) {
            // Without a cache the next cycle reads the replica: slower, never wrong.
            try {
                SignatureCache.invalidate(destination);
            } catch (IOException ignored) {
                // a stale cache is refused by its identity check anyway
            }
        }
    }

    private static Journal.Recovery recover(Path destination, Path stateDirectory, Optional<NativeIo> io)
            throws StandinException {
        try {
            if (!Files.exists(destination)) {
                FreshReplica.recover(destination); // keeps an interrupted first copy that can resume
                return Journal.Recovery.NONE;
            }
            Files.deleteIfExists(FreshReplica.stagingPath(destination));
            boolean device = isBlockDevice(destination, io);
            Path journal = Journal.pathFor(destination, device, stateDirectory);
            boolean resumable = !device && JournaledReplica.resumable(destination, journal).isPresent();
            Journal.Recovery recovery = Journal.recover(journal, destination, device, io, resumable);
            if (recovery != Journal.Recovery.HELD) {
                ResumeLog.delete(destination);
            }
            return recovery;
        } catch (JournalException e) {
            throw new StandinException(ExitStatus.PROTOCOL, "journal of " + destination + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw Failures.classify(e, "cannot recover the journal of " + destination + ": ");
        }
    }

    private static boolean isBlockDevice(Path path, Optional<NativeIo> io) throws IOException {
        if (Files.isRegularFile(path) || io.isEmpty()) {
            return false;
        }
        try (var f = io.get().open(path, false)) {
            return f.isBlockDevice();
        }
    }

    private static DiskImage openReplica(Path destination, Optional<NativeIo> io) throws StandinException {
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
            throw Failures.classify(e, "destination ");
        }
    }

    private static void readFully(java.nio.channels.FileChannel in, long offset, java.nio.ByteBuffer dst)
            throws IOException {
        long position = offset;
        while (dst.hasRemaining()) {
            int n = in.read(dst, position);
            if (n < 0) {
                throw new IOException("partial first copy ends before " + position);
            }
            position += n;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing a lock only fails when the process is dying
        }
    }

    @Override
    public void close() throws StandinException {
        try (DestinationLock l = lock) {
            if (replica != null) {
                replica.close();
            }
        } catch (IOException e) {
            throw Failures.classify(e, "destination " + destination + ": ");
        }
    }
}
