package dev.standin.agent.transport;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.image.DiskImage;
import dev.standin.agent.sync.CountingOutputStream;
import dev.standin.agent.sync.Failures;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SegmentPipeline;
import dev.standin.agent.sync.SourceSender;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.agent.verify.ScrubReport;
import dev.standin.delta.MoveSearch;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.MatchStats;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.nativeio.NativeIo;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@code standin sync SOURCE [user@]host:PATH}: the sending half of a cycle against a replica on
 * another host, over one exec channel of an {@link SshConnection} running {@code standin serve}
 * (docs/protocol.md).
 *
 * <ol>
 *   <li>Hello both ways, then Open: the receiver locks and recovers the replica and answers Ready
 *       with its generation (the digest of its content at its last commit).
 *   <li>Signatures: when this host's {@link SenderCache} holds that generation, none cross the
 *       wire; otherwise the receiver sends its stored ones (or reads the replica if they are stale).
 *   <li>The delta stream, pipelined: segments are read and matched on the pipeline's threads while
 *       earlier ones are compressed and written to the channel; SSH's window is the back pressure.
 *   <li>Committed: the receiver's digest of the replica must equal the digest of what was read;
 *       the signatures computed during the scan (or, from an older receiver, its changed entries)
 *       keep this host's cache in step without reading anything.
 * </ol>
 */
public final class RemoteSync {

    private final SyncOptions options;
    private final RemoteLocation location;
    private final SshOptions ssh;
    private final Progress progress;
    private final Optional<NativeIo> io;
    private final boolean scrub;
    private final Optional<WarmChannels> warmChannels;
    private ScrubReport scrubReport;
    /** The cycle's whole delta went out (EOF sent): a cut now leaves the commit's outcome unknown here. */
    private boolean deltaDelivered;

    public RemoteSync(SyncOptions options, RemoteLocation location, SshOptions ssh, Progress progress) {
        this(options, location, ssh, false, progress, Optional.empty());
    }

    /**
     * With {@code scrub}, the receiver re-reads the replica whatever its caches say, compares it
     * with its record ({@link #scrubReport()}), and the cycle repairs every block that differs.
     * With {@code warmChannels} (a long-lived process), a cycle starts on a channel greeted in
     * advance when one is waiting, and leaves the next one behind when it succeeds.
     */
    public RemoteSync(SyncOptions options, RemoteLocation location, SshOptions ssh, boolean scrub, Progress progress,
            Optional<WarmChannels> warmChannels) {
        this.scrub = scrub;
        this.options = options;
        this.location = location;
        this.ssh = ssh;
        this.progress = progress;
        this.warmChannels = warmChannels;
        this.io = options.useNative() ? NativeIo.tryLoad() : Optional.empty();
    }

    /** One cycle over its own SSH connection, or over a warm channel. */
    public SyncStats run() throws StandinException, InterruptedException {
        try {
            if (warmChannels.isPresent()) {
                return runWarm(warmChannels.get());
            }
            try (SshConnection connection = SshConnection.open(location, ssh)) {
                return run(connection);
            }
        } finally {
            progress.finish();
        }
    }

    /** One cycle over an open connection (several cycles may share one, each on its own channel). */
    public SyncStats run(SshConnection connection) throws StandinException, InterruptedException {
        return run(connection, System.nanoTime());
    }

    /** As above, for a cycle that began at {@code started} (it may have tried a warm channel first). */
    private SyncStats run(SshConnection connection, long started) throws StandinException, InterruptedException {
        try (ServeChannel channel = ServeChannel.open(connection, serveCommand(), ssh)) {
            return cycle(channel, started, false);
        }
    }

    private String serveCommand() {
        return ssh.remoteStandin() + " serve --root " + Shell.quote(location.directory());
    }

    /**
     * Takes the warm channel for this destination if one is waiting. If it turns out dead before
     * the receiver has answered Open, nothing was done on its side and the cycle starts over on a
     * new connection. After a cycle that succeeded, the connection opens the next warm channel.
     */
    private SyncStats runWarm(WarmChannels warm) throws StandinException, InterruptedException {
        long started = System.nanoTime();
        WarmChannels.Key key = new WarmChannels.Key(location, ssh, serveCommand());
        Optional<WarmChannels.Warm> waiting = warm.take(key);
        if (waiting.isPresent()) {
            WarmChannels.Warm taken = waiting.get();
            boolean handedOver = false;
            try {
                SyncStats stats = cycle(taken.channel(), started, true);
                taken.channel().close();
                warm.prepare(key, taken.connection());
                handedOver = true;
                return stats;
            } catch (StaleChannel e) {
                // fall through to a new connection
            } finally {
                if (!handedOver) {
                    taken.close();
                }
            }
        }
        SshConnection connection = SshConnection.open(location, ssh);
        boolean handedOver = false;
        try {
            SyncStats stats = run(connection, started);
            warm.prepare(key, connection);
            handedOver = true;
            return stats;
        } finally {
            if (!handedOver) {
                connection.close();
            }
        }
    }

    /** A warm channel that failed before the receiver answered Open: safe to start over. */
    private static final class StaleChannel extends StandinException {
        StaleChannel(IOException cause) {
            super(ExitStatus.DESTINATION, "the warm channel to the receiver had closed: " + cause.getMessage(), cause);
        }
    }

    /** Greets the receiver unless {@code warm} (then it was greeted in advance), and runs the cycle. */
    private SyncStats cycle(ServeChannel serve, long started, boolean warm) throws StandinException,
            InterruptedException {
        try (DiskImage source = openSource()) {
            try {
                Message.Hello hello = warm ? serve.hello() : serve.greet();
                return cycle(serve, hello, warm, source, started);
            } catch (RemoteFailure f) {
                throw new StandinException(ExitStatus.of(f.exitStatus()), "receiver " + location.host() + ": "
                        + f.getMessage(), f);
            } catch (IOException e) {
                throw explainBrokenChannel(e, serve.messages(), serve.exec());
            }
        } catch (IOException e) {
            throw Failures.classify(e, "source ");
        }
    }

    private DiskImage openSource() throws StandinException {
        try {
            return DiskImage.open(options.source(), false, options.dropCache(), io);
        } catch (IOException e) {
            throw Failures.classify(e, "source ");
        }
    }

    private SyncStats cycle(ServeChannel serve, Message.Hello hello, boolean warm, DiskImage source, long started)
            throws IOException, StandinException, InterruptedException {
        MessageChannel channel = serve.messages();
        deltaDelivered = false;
        CountingInputStream received = serve.received();
        CountingOutputStream sent = serve.sent();
        long length = SourceSender.sourceSize(source);
        SenderCache cache = SenderCache.of(options.stateDirectory(), location, location.path());
        Optional<SenderCache.Entry> known = cache.load();
        if (hello.minVersion() > ReplicaServer.PROTOCOL_VERSION || hello.maxVersion() < ReplicaServer.PROTOCOL_VERSION) {
            throw new StandinException(ExitStatus.PROTOCOL, "the receiver (" + hello.software() + ") speaks protocol "
                    + hello.minVersion() + ".." + hello.maxVersion() + ", this sender " + ReplicaServer.PROTOCOL_VERSION);
        }
        Compression codec = options.compression().forReader(hello.capabilities());
        if (codec != Compression.NONE && !hello.capabilities().contains(codec.wireName())) {
            throw new StandinException(ExitStatus.PROTOCOL, "the receiver cannot decompress " + codec.wireName());
        }
        long allocated = SourceSender.allocatedBytes(source, length);
        Message.Ready ready;
        long receivedBeforeOpen = received.count();
        try {
            channel.send(new Message.Open(location.name(), length, allocated, options.blockSize(), options.dryRun(),
                    scrub, options.keepPoints(), known.map(SenderCache.Entry::generation)));
            ready = channel.expect(Message.Ready.class);
        } catch (IOException e) {
            if (warm && !(e instanceof RemoteFailure) && !(e instanceof ProtocolException)
                    && received.count() == receivedBeforeOpen) {
                throw new StaleChannel(e);
            }
            throw e;
        }
        int blockSize = ready.blockSize();
        boolean resuming = ready.heldBytes() > 0;
        boolean firstCopy = ready.kind() == Message.ReplicaKind.ABSENT;
        long basisLength = firstCopy ? 0 : ready.kind() == Message.ReplicaKind.DEVICE ? length : ready.replicaLength();

        boolean cacheMatches = !firstCopy && !scrub && !resuming && known.isPresent() && ready.generation().isPresent()
                && Arrays.equals(known.get().generation(), ready.generation().get())
                && known.get().signatures().blockSize() == blockSize
                && known.get().signatures().length() == basisLength;
        if (known.isPresent()) {
            // Used (or found stale) once: until this cycle's commit stores its successor, the next
            // cycle asks the receiver. A cache that is wrong for any reason cannot fail cycles forever.
            cache.invalidate();
        }
        channel.send(new Message.Begin(!firstCopy && !cacheMatches));
        channel.output().flush();
        Signatures basis;
        String signatureSource;
        long replicaRead = 0;
        if (firstCopy) {
            basis = Signatures.empty(blockSize);
            signatureSource = "none";
        } else if (cacheMatches) {
            basis = known.get().signatures();
            signatureSource = "sender-cache";
        } else {
            progress.phase("receiving the replica's signatures", 0);
            Message.SignaturesBegin head = channel.expect(Message.SignaturesBegin.class);
            if (head.blockSize() != blockSize || head.length() != basisLength) {
                throw new ProtocolException("receiver sent signatures of " + head.length() + " bytes in "
                        + head.blockSize() + "-byte blocks, expected " + basisLength + " in " + blockSize);
            }
            basis = new Signatures(basisLength, blockSize);
            receiveSignatures(channel, basis);
            byte[] digest = channel.expect(Message.SignaturesEnd.class).digest();
            if (!Arrays.equals(digest, basis.digest())) {
                throw new ProtocolException("the receiver's signatures do not match their own digest");
            }
            signatureSource = "receiver-" + head.source();
            replicaRead = head.bytesRead();
            if (scrub) {
                scrubReport = ReplicaServer.JSON.readValue(channel.expect(Message.ScrubResult.class).json(),
                        ScrubReport.class);
            }
        }
        byte[] basisDigest = firstCopy ? DeltaHeader.NO_BASIS
                : cacheMatches ? known.get().generation() : basis.digest();
        DeltaHeader header = new DeltaHeader(blockSize, length, basisLength, basisDigest);
        SegmentPipeline pipeline = new SegmentPipeline(Math.max(options.segmentSize(), blockSize), options.threads(),
                options.idleIo(), io);
        OutputStream wire = options.dryRun() ? OutputStream.nullOutputStream() : channel.output();
        CountingOutputStream delta = new CountingOutputStream(wire);
        // The receiver then sends no signatures back: this end computes them as it reads.
        boolean signHere = !options.dryRun() && hello.capabilities().contains(ReplicaServer.SENDER_SIGNATURES);
        SourceSender.Sent scanned;
        try {
            scanned = SourceSender.send(pipeline, source, basis, header, delta, codec,
                    resuming ? MoveSearch.NONE : options.moveSearch(), null, signHere, progress);
        } catch (IOException | StandinException | InterruptedException e) {
            throw e;
        } catch (Exception e) {
            throw Failures.wrap(e, "source ");
        }
        delta.flush();
        channel.output().close(); // EOF: the receiver commits only a stream that ended where it should
        deltaDelivered = !options.dryRun();
        long point = 0;
        if (!options.dryRun()) {
            progress.phase("receiver verifying and committing", 0);
            Signatures after = scanned.signatures().orElseGet(() -> SignatureTransfer.resized(basis, length));
            boolean[] patched = {false};
            Message.Committed committed = receiveCommit(channel, after, patched);
            if (!Arrays.equals(committed.digest(), scanned.digest())) {
                cache.invalidate();
                throw new StandinException(ExitStatus.VERIFY, "receiver committed digest "
                        + ImageDigest.hex(committed.digest()) + " but the source read " + ImageDigest.hex(scanned.digest())
                        + "; the next cycle re-reads the replica's signatures and repairs it");
            }
            // Signatures computed here have the scan's leaves, whose digest was just compared.
            storeCache(cache, after, committed.digest(), scanned.signatures().isPresent() && !patched[0]);
            point = committed.pointId();
        }
        MatchStats m = scanned.stats();
        return new SyncStats(options.source().toString(), location.toString(), length, blockSize, m.blocks(),
                m.blocksSame(), m.blocksMoved(), m.blocksZero(), m.blocksChanged(), scanned.sourceRead() + replicaRead,
                scanned.sourceRead(), replicaRead, signatureSource, m.literalBytes(),
                options.dryRun() ? delta.count() : received.count() + sent.count(),
                // PARTIAL is any held cycle; the receiver's signatures say which: a first copy's
                // staging file ("partial") or an update's journal ("resume").
                codec.wireName(), firstCopy || signatureSource.equals("receiver-partial"), options.dryRun(),
                resuming ? "resumed" : ready.recovery(),
                ImageDigest.hex(scanned.digest()), "none", (System.nanoTime() - started) / 1e9, List.of());
    }

    /** What the receiver's scrub found, after a cycle run with {@code scrub}; null before, or for a first copy. */
    public ScrubReport scrubReport() {
        return scrubReport;
    }

    private static void receiveSignatures(MessageChannel channel, Signatures basis) throws IOException {
        int next = 0;
        while (next < basis.blockCount()) {
            Message.SignatureChunk chunk = channel.expect(Message.SignatureChunk.class);
            if (chunk.first() != next) {
                throw new ProtocolException("signature chunk starts at block " + chunk.first() + ", expected " + next);
            }
            SignatureTransfer.receive(chunk, basis);
            next += chunk.weak().length;
        }
    }

    /** The changed signature entries (noted in {@code patched}), then the commit acknowledgement. */
    private static Message.Committed receiveCommit(MessageChannel channel, Signatures after, boolean[] patched)
            throws IOException {
        while (true) {
            Message m = channel.receive();
            if (m instanceof Message.SignatureChunk chunk) {
                SignatureTransfer.receive(chunk, after);
                patched[0] = true;
            } else if (m instanceof Message.Committed c) {
                return c;
            } else if (m instanceof Message.Failure f) {
                throw new RemoteFailure(f.exitStatus(), f.message());
            } else {
                throw new ProtocolException("expected Committed, the receiver sent " + m.getClass().getSimpleName());
            }
        }
    }

    private void storeCache(SenderCache cache, Signatures after, byte[] digest, boolean digestKnown) {
        if (!digestKnown && !Arrays.equals(after.digest(), digest)) {
            cache.invalidate(); // the receiver's diff did not add up: fetch its signatures next time
            return;
        }
        try {
            cache.store(after, digest);
        } catch (IOException e) {
            cache.invalidate(); // without it the next cycle asks the receiver for its signatures
        }
    }

    /**
     * When a write to the channel fails, the receiver has usually said why before it closed it:
     * prefer its Failure message, then its stderr, then the local error.
     */
    private StandinException explainBrokenChannel(IOException e, MessageChannel channel, SshConnection.Exec exec) {
        if (e instanceof ProtocolException p && p.getMessage().contains("before saying anything")) {
            return didNotStart(exec, e);
        }
        if (e instanceof ProtocolException p) {
            String stderr = exec.stderr();
            return new StandinException(ExitStatus.PROTOCOL, "protocol error with " + location.host() + ": "
                    + p.getMessage() + (stderr.isEmpty() ? "" : " (remote stderr: " + stderr + ")"), e);
        }
        try {
            Message m = channel.receive();
            if (m instanceof Message.Failure f) {
                return new StandinException(ExitStatus.of(f.exitStatus()), "receiver " + location.host() + ": "
                        + f.message(), e);
            }
        } catch (IOException | RuntimeException ignored) {
            // nothing more from the receiver
        }
        String stderr = exec.stderr();
        String what = e instanceof EOFException ? "the connection to " + location.host() + " closed"
                : "the connection to " + location.host() + " failed: " + Failures.reason(e);
        // Once the whole delta is out, the receiver may have committed before the cut: only the
        // next cycle's recovery can tell, and it makes the replica one point or the other.
        String outcome = deltaDelivered
                ? " after the whole delta was sent and before the receiver confirmed its commit; whether the replica "
                        + "is at the new point or still at its previous one is unknown, and the next cycle settles it "
                        + "(it is one or the other, never a mix)"
                : "; the replica stays at its last committed point";
        return new StandinException(ExitStatus.DESTINATION, what + (stderr.isEmpty() ? "" : " (remote stderr: " + stderr
                + ")") + outcome, e);
    }

    /**
     * The remote command ended before its greeting. A shell that cannot find the command exits
     * with 127 (126: found, not executable); any other end is a standin that started and died.
     */
    private StandinException didNotStart(SshConnection.Exec exec, IOException e) {
        int status;
        try {
            status = exec.awaitExit(2_000);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            status = -1;
        }
        String said = exec.stderr().isEmpty() ? "" : ": " + exec.stderr();
        String how = switch (status) {
            case 127 -> "'" + ssh.remoteStandin() + "' was not found on " + location.host() + said
                    + "; install standin there or name it with --remote-standin";
            case 126 -> "'" + ssh.remoteStandin() + "' on " + location.host() + " cannot be executed" + said;
            case -1 -> "standin on " + location.host() + " closed the connection before its greeting" + said;
            default -> "standin started on " + location.host() + " but ended with exit status " + status
                    + " before its greeting" + (said.isEmpty() ? " (it said nothing)" : said);
        };
        return new StandinException(ExitStatus.DESTINATION, how, e);
    }

    /** Counts what crossed the channel towards this host. */
    static final class CountingInputStream extends FilterInputStream {
        private long count;

        CountingInputStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }

        long count() {
            return count;
        }
    }
}
