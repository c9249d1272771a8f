package dev.standin.agent.sync;

import dev.standin.agent.replica.ResumeLog;
import dev.standin.delta.BlockSize;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A replica on this host, written through {@link ReplicaSession}'s journaled path. A local cycle
 * delivers its delta stream through an in-process pipe to {@link #apply}, running on its own
 * thread, so that the stream between the halves is the real wire format; {@code standin serve}
 * calls the same methods from the protocol's messages.
 */
public final class LocalDestination implements Destination {

    private final Path path;
    private final Path stateDirectory;
    private final Reading reading;
    private final Progress progress;
    private final Optional<ReplicaSigner> scrubber;
    private ReplicaSession session;
    private Opening opening;
    private Replica replica;
    private Optional<ResumeLog.Held> held = Optional.empty();
    private Basis basis;
    private Signatures digested;
    private byte[] digest;

    /**
     * With a {@code scrubber}, the replica's signatures come from it (a scrub that compares the
     * replica with its record on the way), never from the cache, and no interrupted cycle is resumed.
     */
    public LocalDestination(Path path, Path stateDirectory, Reading reading, Progress progress,
            Optional<ReplicaSigner> scrubber) {
        this.path = Objects.requireNonNull(path, "path");
        this.stateDirectory = Objects.requireNonNull(stateDirectory, "stateDirectory");
        this.reading = reading;
        this.progress = progress;
        this.scrubber = scrubber;
    }

    @Override
    public String name() {
        return path.toString();
    }

    /**
     * A replica a failed-over VM runs on is not written (docs/failover.md): transient, so the
     * sender's retries resume once the failover is cleaned up.
     */
    private void refuseInUse() throws StandinException {
        Optional<String> holder;
        try {
            holder = dev.standin.agent.replica.InUse.holder(path);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.DESTINATION, "cannot read " + path + "'s in-use mark: "
                    + Failures.reason(e), e);
        }
        if (holder.isPresent()) {
            throw new StandinException(ExitStatus.DESTINATION, "replica " + path + " is in use by " + holder.get()
                    + "; it receives nothing until 'standin failover --cleanup' on its host", null, false);
        }
    }

    @Override
    public Replica open(Opening opening) throws StandinException {
        if (session != null) {
            throw new IllegalStateException("open is called once per cycle");
        }
        this.opening = opening;
        session = ReplicaSession.open(path, stateDirectory, reading.io());
        refuseInUse();
        long length = opening.sourceLength();
        long basisLength = session.basisLength(length);
        int blockSize = opening.blockSize() != 0 ? BlockSize.validate(opening.blockSize())
                : BlockSize.forImageSize(Math.max(length, basisLength));
        session.checkTarget(length, blockSize);
        boolean firstCopy = session.firstCopy();
        if (firstCopy && !opening.dryRun()) {
            session.checkRoomForFirstCopy(opening.sourceAllocated());
        }
        if (scrubber.isEmpty()) {
            held = session.resumable(length, blockSize);
        }
        // This build reads every codec it writes, zstd as one stream across frames.
        Compression codec = opening.compression().forReader(Compression.readable());
        boolean basisRead = !firstCopy && held.isEmpty()
                && (scrubber.isPresent() || session.cachedSignatures(blockSize).isEmpty());
        replica = new Replica(firstCopy, blockSize, basisLength, held.isPresent(),
                CycleRecovery.of(session.recovery()), codec, basisRead);
        return replica;
    }

    @Override
    public Basis basis() throws StandinException {
        return basis(true);
    }

    /**
     * The basis, read or taken from the cache as {@link #basis()} does; without {@code withLostPoints}
     * the recovery points the commit will drop are not looked up ({@code serve}: its apply drops and
     * logs them, and nobody reports the basis's list).
     */
    public Basis basis(boolean withLostPoints) throws StandinException {
        requireOpen();
        ReplicaSession.Signed signed = scrubber.isPresent() && !replica.firstCopy()
                ? session.signWith(scrubber.get(), reading.pipeline(replica.blockSize()), replica.basisLength(),
                        replica.blockSize())
                : session.signatures(replica.blockSize(), reading.pipeline(replica.blockSize()), progress,
                        opening.sourceLength());
        return basisOf(signed, withLostPoints);
    }

    /**
     * The basis when the sender already holds the replica's signatures of {@link #generation()}:
     * the cached ones, read from nowhere. Empty when there is no such generation any more.
     */
    public Optional<Basis> basisFromCache() throws StandinException {
        requireOpen();
        if (held.isPresent()) {
            return Optional.empty();
        }
        Optional<Signatures> cached = session.cachedSignatures(replica.blockSize());
        if (cached.isEmpty()) {
            return Optional.empty();
        }
        // The receiver's apply drops lost points itself and logs them; nobody here reports them.
        return Optional.of(basisOf(new ReplicaSession.Signed(cached.get(), 0, SignatureSource.CACHE), false));
    }

    private Basis basisOf(ReplicaSession.Signed signed, boolean withLostPoints) throws StandinException {
        Signatures signatures = signed.signatures();
        boolean fresh = replica.firstCopy() && !replica.resuming();
        basis = new Basis(signatures, fresh ? DeltaHeader.NO_BASIS : digestOf(signatures), signed.source(),
                signed.bytesRead(), withLostPoints ? session.pointsLostWith(signatures) : List.of());
        return basis;
    }

    /** The digest of the replica's signatures at its last commit, when its cache still describes it. */
    public Optional<byte[]> generation() throws StandinException {
        requireOpen();
        Optional<Signatures> cached = session.cachedSignatures(replica.blockSize());
        return cached.isEmpty() ? Optional.empty() : Optional.of(digestOf(cached.get()));
    }

    /** A digest over every block hash (a million for 4 GiB): computed once per set of signatures. */
    private byte[] digestOf(Signatures signatures) {
        if (digested != signatures) {
            digest = signatures.digest();
            digested = signatures;
        }
        return digest;
    }

    /** Whether the replica is a block device (it then always has the source's length). */
    public boolean isBlockDevice() {
        return session.isBlockDevice();
    }

    /** The replica's length; for a first copy, the bytes an interrupted one holds. */
    public long replicaLength() throws StandinException {
        return replica.firstCopy() ? heldBytes() : session.size();
    }

    /** Bytes an interrupted earlier cycle holds for this one; 0 when none. */
    public long heldBytes() {
        return session.heldBytes();
    }

    /** The recovery points the commit dropped because the replica was changed outside standin. */
    public List<Long> droppedPoints() {
        return session.droppedPoints();
    }

    /** Free bytes on the replica's filesystem, -1 when unknown. */
    public long availableBytes() {
        if (reading.io().isEmpty()) {
            return -1;
        }
        try {
            return reading.io().get().statvfs(path.toAbsolutePath().getParent()).availableBytes();
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * Decodes one delta stream computed against {@link #basis}, assembles, verifies and commits it,
     * and keeps the replica's new signatures for the next cycle. Not for a dry run.
     */
    public ReplicaSession.Committed apply(InputStream in) throws StandinException, IOException {
        requireOpen();
        if (basis == null) {
            throw new IllegalStateException("apply follows basis");
        }
        return session.apply(in, opening.sourceLength(), basis.signatures(), basis.headerDigest(),
                opening.keepPoints(), progress);
    }

    /** Keeps the replica's signatures beside it, so the next cycle need not read it; after {@link #apply}. */
    public void keepSignatures(ReplicaSession.Committed committed) {
        session.keepSignatures(committed);
    }

    @Override
    public Delivery deliver(DeltaHeader header) {
        requireOpen();
        if (opening.dryRun()) {
            throw new IllegalStateException("a dry run delivers nothing (DryRunDestination)");
        }
        return new Piped();
    }

    private void requireOpen() {
        if (session == null) {
            throw new IllegalStateException("the destination is not open");
        }
    }

    @Override
    public void close() throws StandinException {
        if (session != null) {
            ReplicaSession s = session;
            session = null;
            s.close();
        }
    }

    /** The receiving half, on its own thread: decode, check, assemble, journal, verify, commit. */
    private final class Piped implements Delivery {
        private final BytePipe pipe = new BytePipe();
        private final CompletableFuture<ReplicaSession.Committed> applied = new CompletableFuture<>();

        Piped() {
            Thread thread = new Thread(() -> {
                try {
                    ReplicaSession.Committed committed = apply(pipe.input());
                    keepSignatures(committed);
                    applied.complete(committed);
                } catch (Throwable e) {
                    pipe.fail(e instanceof IOException io ? io : new IOException(e.toString(), e));
                    applied.completeExceptionally(e);
                }
            }, "standin-apply");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public OutputStream stream() {
            return pipe.output();
        }

        @Override
        public boolean wantsSignatures() {
            return false; // the applier computes them as it assembles
        }

        @Override
        public Committed commit(SourceSender.Sent scan, long deltaBytes) throws StandinException, InterruptedException {
            try {
                pipe.output().close();
                return new Committed(applied.get().pointId(), deltaBytes);
            } catch (ExecutionException e) {
                throw Failures.wrap(e.getCause() instanceof Exception ex ? ex : e, "destination ");
            } catch (IOException e) {
                throw failed(e);
            }
        }

        @Override
        public StandinException failed(Exception cause) {
            pipe.fail(new IOException("the sending side stopped: " + cause.getMessage()));
            boolean interrupted = Failures.isInterruption(cause);
            try {
                applied.get();
            } catch (ExecutionException applierFailure) {
                // When the receiving side failed first, the sender only saw the pipe close.
                if (!interrupted && applierFailure.getCause() instanceof Exception e) {
                    return Failures.wrap(e, "destination ");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Failures.wrap(cause, "source ");
        }
    }
}
