package dev.standin.agent.transport;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.Version;
import dev.standin.agent.sync.Failures;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.replica.ResumeLog;
import dev.standin.agent.verify.Scrub;
import dev.standin.agent.verify.ScrubOptions;
import dev.standin.agent.verify.ScrubReport;
import java.util.concurrent.atomic.AtomicReference;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.ReplicaSession;
import dev.standin.agent.sync.SegmentPipeline;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.delta.BlockSize;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The receiving end of one cycle over the standin protocol ({@code standin serve}): everything it
 * touches is inside its {@link ReplicaRoot}; the replica is written only through
 * {@link ReplicaSession}, the same journaled path a local sync uses.
 */
public final class ReplicaServer {

    public static final int PROTOCOL_VERSION = 3;
    static final ObjectMapper JSON = new ObjectMapper();
    /**
     * When both Hellos list it, the sender derives the replica's new signatures from what it read
     * and the receiver sends none back after its commit (12 bytes a block: 12 MiB of a 4 GiB first copy).
     */
    static final String SENDER_SIGNATURES = "sender-signatures";
    static final List<String> CAPABILITIES = List.of("lz4", "zstd", "zstd-stream", "signature-diff",
            SENDER_SIGNATURES);

    private final ReplicaRoot root;
    private final Path stateDirectory;
    private final int threads;
    private final Optional<NativeIo> io;
    private final RefusalLog log;

    /**
     * What the receiving host keeps of a cycle it refused or could not verify, and of recovery
     * points a repair dropped: one line each.
     */
    @FunctionalInterface
    public interface RefusalLog {
        RefusalLog NONE = line -> { };

        void line(String line);
    }

    public ReplicaServer(ReplicaRoot root, Path stateDirectory, int threads, Optional<NativeIo> io) {
        this(root, stateDirectory, threads, io, RefusalLog.NONE);
    }

    /** {@code log} gets one line for every cycle that did not end well (serve: its stderr, which sshd keeps). */
    public ReplicaServer(ReplicaRoot root, Path stateDirectory, int threads, Optional<NativeIo> io, RefusalLog log) {
        this.root = root;
        this.stateDirectory = stateDirectory;
        this.threads = threads;
        this.io = io;
        this.log = log;
    }

    /**
     * Answers a sender that cannot be served at all (its requested root is refused): the
     * greeting, then the failure, so the sender reports the reason instead of a dead channel.
     */
    public static int refuse(InputStream in, OutputStream out, StandinException failure) {
        MessageChannel channel = new MessageChannel(in, out);
        try {
            channel.sendPreamble();
            channel.send(new Message.Hello(PROTOCOL_VERSION, PROTOCOL_VERSION, Version.text(), CAPABILITIES));
            channel.send(new Message.Failure(failure.status().code(), failure.getMessage()));
        } catch (IOException ignored) {
            // the sender is gone already
        }
        return failure.status().code();
    }

    /** Serves one cycle on {@code in}/{@code out}; returns the exit status (also sent to the peer). */
    public int serve(InputStream in, OutputStream out) {
        MessageChannel channel = new MessageChannel(in, out);
        String replicaName = null;
        try {
            channel.sendPreamble();
            channel.send(new Message.Hello(PROTOCOL_VERSION, PROTOCOL_VERSION, Version.text(), CAPABILITIES));
            channel.expectPreamble();
            Message.Hello hello = channel.expect(Message.Hello.class);
            if (hello.minVersion() > PROTOCOL_VERSION || hello.maxVersion() < PROTOCOL_VERSION) {
                throw new StandinException(ExitStatus.PROTOCOL, "the sender speaks protocol versions "
                        + hello.minVersion() + ".." + hello.maxVersion() + ", this receiver " + PROTOCOL_VERSION);
            }
            Optional<Message> next = channel.receiveOrEnd();
            if (next.isEmpty()) {
                // A warm channel the sender let go without using (docs/protocol.md): nothing to do.
                return ExitStatus.OK.code();
            }
            Message request = next.get();
            replicaName = request instanceof Message.Open o ? o.path() : request instanceof Message.Verify v ? v.path() : null;
            if (request instanceof Message.Verify verify) {
                ScrubReport report = scrub().scrub(root.resolve(verify.path()));
                channel.send(new Message.ScrubResult(JSON.writeValueAsString(report)));
                return ExitStatus.OK.code();
            }
            if (!(request instanceof Message.Open open)) {
                throw new ProtocolException("expected Open or Verify, the sender sent " + request.getClass().getSimpleName());
            }
            Path destination = root.resolve(open.path());
            boolean senderSigns = hello.capabilities().contains(SENDER_SIGNATURES);
            try (ReplicaSession replica = ReplicaSession.open(destination, stateDirectory, io)) {
                cycle(channel, open, replica, senderSigns);
            }
            return ExitStatus.OK.code();
        } catch (Exception e) {
            StandinException failure = classify(e);
            // Bounded and escaped: a 4 KiB hostile path quoted in the reason would not fit the
            // string field, and the write's failure would lose the reason.
            String reason = WireText.reason(failure.getMessage());
            // "refused": the sender's input was not accepted; "failed": the replica's side (disk, digest).
            log.line((failure.status() == ExitStatus.PROTOCOL ? "refused" : "failed")
                    + (replicaName == null ? "" : " replica '" + WireText.quote(replicaName) + "'") + ": " + reason
                    + " (exit " + failure.status().code() + ")");
            try {
                channel.send(new Message.Failure(failure.status().code(), reason));
            } catch (IOException | RuntimeException ignored) {
                // the sender is gone; the replica is at its last committed point whatever happened
            }
            return failure.status().code();
        }
    }

    /**
     * One status for one situation: whatever the peer sent that cannot be read (a bad field, a
     * stream that ends early, between messages or inside one) is 5; the replica's own failures
     * keep theirs.
     */
    private static StandinException classify(Exception e) {
        if (e instanceof ProtocolException p) {
            return new StandinException(ExitStatus.PROTOCOL, p.getMessage(), p);
        }
        if (e instanceof java.io.EOFException) {
            return new StandinException(ExitStatus.PROTOCOL, "the sender's stream ended before its cycle did", e);
        }
        return Failures.wrap(e, "destination ");
    }

    private void cycle(MessageChannel channel, Message.Open open, ReplicaSession replica, boolean senderSigns)
            throws IOException, StandinException {
        long length = open.sourceLength();
        long basisLength = replica.basisLength(length);
        int blockSize = open.blockSize() != 0 ? BlockSize.validate(open.blockSize())
                : BlockSize.forImageSize(Math.max(length, basisLength));
        replica.checkTarget(length, blockSize);
        boolean firstCopy = replica.firstCopy();
        if (firstCopy && open.scrub()) {
            throw new StandinException(ExitStatus.DESTINATION, "there is no replica at " + open.path()
                    + " to verify; 'standin sync' makes a first copy");
        }
        if (firstCopy && !open.dryRun()) {
            replica.checkRoomForFirstCopy(open.sourceAllocated());
        }
        Optional<Signatures> cached = replica.cachedSignatures(blockSize);
        Optional<byte[]> generation = cached.map(Signatures::digest);
        Optional<ResumeLog.Held> held = replica.resumable(length, blockSize);
        Message.ReplicaKind kind = replica.isBlockDevice() ? Message.ReplicaKind.DEVICE
                : held.isPresent() ? Message.ReplicaKind.PARTIAL
                : firstCopy ? Message.ReplicaKind.ABSENT : Message.ReplicaKind.FILE;
        long replicaLength = firstCopy ? held.map(ResumeLog.Held::bytes).orElse(0L) : replica.size();
        channel.send(new Message.Ready(kind, replicaLength, blockSize, generation,
                replica.recovery().name().toLowerCase(java.util.Locale.ROOT), available(replica), replica.heldBytes()));
        Message.Begin begin = channel.expect(Message.Begin.class);
        Signatures basis;
        byte[] basisDigest;
        if (firstCopy && (held.isEmpty() || !begin.wantSignatures())) {
            basis = Signatures.empty(blockSize);
            basisDigest = DeltaHeader.NO_BASIS;
        } else if (begin.wantSignatures() || open.scrub()) {
            SegmentPipeline pipeline = new SegmentPipeline(Math.max(SyncOptions.DEFAULT_SEGMENT_SIZE, blockSize), threads,
                    true, io);
            AtomicReference<ScrubReport> scrubbed = new AtomicReference<>();
            ReplicaSession.Signed signed = open.scrub() && !firstCopy
                    ? replica.signWith(scrub().signerFor(replica.destination(), scrubbed::set), pipeline,
                            replica.basisLength(length), blockSize)
                    : replica.signatures(blockSize, pipeline, Progress.NONE, length);
            basis = signed.signatures();
            basisDigest = basis.digest();
            channel.send(new Message.SignaturesBegin(basis.length(), blockSize, signed.source(), signed.bytesRead()));
            SignatureTransfer.sendRange(channel, basis, 0, basis.blockCount());
            channel.send(new Message.SignaturesEnd(basisDigest));
            if (scrubbed.get() != null) {
                channel.send(new Message.ScrubResult(JSON.writeValueAsString(scrubbed.get())));
            }
        } else if (cached.isPresent() && held.isEmpty()) {
            basis = cached.get();
            basisDigest = generation.get();
        } else {
            throw new StandinException(ExitStatus.PROTOCOL,
                    "the sender holds signatures of a generation this receiver does not know; nothing was written");
        }
        if (open.dryRun()) {
            drain(channel.input());
            return;
        }
        int keep = open.keepPoints() >= 0 ? open.keepPoints() : SyncOptions.DEFAULT_KEEP_POINTS;
        ReplicaSession.Committed committed = replica.apply(channel.input(), open.sourceLength(), basis, basisDigest, keep,
                Progress.NONE);
        if (!replica.droppedPoints().isEmpty()) {
            log.line("replica '" + WireText.quote(open.path()) + "' no longer held its newest recovery point (changed "
                    + "outside standin); dropped points " + replica.droppedPoints() + ", which depended on it");
        }
        if (!senderSigns) {
            SignatureTransfer.sendChanges(channel, basis, committed.signatures());
        }
        channel.send(new Message.Committed(committed.digest(), committed.pointId()));
        // After the answer: the sender need not wait for a file that only saves the next cycle a
        // read. The next cycle's Open waits for this session's lock (DestinationLock.PATIENCE).
        replica.keepSignatures(committed);
    }

    private Scrub scrub() {
        return new Scrub(ScrubOptions.defaults().withThreads(threads).withStateDirectory(stateDirectory), Progress.NONE);
    }

    private long available(ReplicaSession replica) {
        if (io.isEmpty()) {
            return -1;
        }
        try {
            return io.get().statvfs(replica.destination().toAbsolutePath().getParent()).availableBytes();
        } catch (IOException e) {
            return -1;
        }
    }

    private static void drain(InputStream in) throws IOException {
        byte[] b = new byte[8192];
        while (in.read(b) >= 0) {
            // a dry run's sender sends nothing more; wait for it to close
        }
    }
}
