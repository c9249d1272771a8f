package dev.standin.agent.transport;

import dev.standin.agent.sync.CycleRecovery;
import dev.standin.agent.sync.Destination;
import dev.standin.agent.sync.Failures;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SignatureSource;
import dev.standin.agent.sync.SourceSender;
import dev.standin.agent.verify.ScrubReport;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A replica on another host, reached over one exec channel of an {@link SshConnection} running
 * {@code standin serve} (docs/protocol.md); {@link ReplicaServer} is the other end.
 *
 * <ol>
 *   <li>Hello both ways, then Open: the receiver locks and recovers the replica and answers Ready
 *       with its generation (the digest of its content at its last commit).
 *   <li>Signatures: when this host's {@link SenderCache} holds that generation, none cross the
 *       wire; otherwise the receiver sends its stored ones (or reads the replica if they are stale).
 *   <li>The delta stream goes out on the channel; SSH's window is the back pressure.
 *   <li>Committed: the receiver's digest of the replica must equal the digest of what was read;
 *       the signatures computed during the scan (or, from an older receiver, its changed entries)
 *       keep this host's cache in step without reading anything.
 * </ol>
 */
public final class SshDestination implements Destination {

    private final RemoteLocation location;
    private final SshOptions ssh;
    private final Path stateDirectory;
    private final boolean scrub;
    private final StallWatchdog progress;
    private final Optional<SshConnection> shared;
    private final Optional<WarmChannels> warmChannels;

    private SshConnection ownConnection;
    private WarmChannels.Warm warm;
    /** Volatile: the watchdog reads its counts from its own thread. */
    private volatile ServeChannel serve;
    private Message.Hello hello;
    private Opening opening;
    private Replica replica;
    private Message.Ready ready;
    private Signatures basisSignatures;
    /** This host's copy of the replica's signatures, loaded once per cycle (12 MiB for 4 GiB). */
    private Optional<SenderCache.Entry> known = Optional.empty();
    private ScrubReport scrubReport;
    /** The cycle's whole delta went out (EOF sent): a cut now leaves the commit's outcome unknown here. */
    private boolean deltaDelivered;
    /** The sender's cache holds the signatures of the generation the receiver has: none are sent. */
    private boolean cacheMatches;
    private boolean completed;

    private SshDestination(RemoteLocation location, SshOptions ssh, Path stateDirectory, boolean scrub,
            Progress progress, Optional<SshConnection> shared, Optional<WarmChannels> warmChannels) {
        this.location = location;
        this.ssh = ssh;
        this.stateDirectory = stateDirectory;
        this.scrub = scrub;
        this.progress = new StallWatchdog(progress, ssh.ioTimeout(), this::movement);
        this.shared = shared;
        this.warmChannels = warmChannels;
    }

    /**
     * Over its own connection, opened by {@link #open}. With {@code warmChannels} (a long-lived
     * process), the cycle starts on a channel greeted in advance when one is waiting, and leaves
     * the next one behind when it succeeds. With {@code scrub}, the receiver re-reads the replica
     * whatever its caches say, compares it with its record ({@link #scrubReport()}), and the cycle
     * repairs every block that differs. {@code stateDirectory} holds this host's {@link SenderCache}.
     */
    public static SshDestination connecting(RemoteLocation location, SshOptions ssh, Path stateDirectory,
            boolean scrub, Progress progress, Optional<WarmChannels> warmChannels) {
        return new SshDestination(location, ssh, stateDirectory, scrub, progress, Optional.empty(), warmChannels);
    }

    /** On a channel of {@code connection}, which several cycles share and the caller closes. */
    public static SshDestination over(SshConnection connection, RemoteLocation location, SshOptions ssh,
            Path stateDirectory, Progress progress) {
        return new SshDestination(location, ssh, stateDirectory, false, progress, Optional.of(connection),
                Optional.empty());
    }

    @Override
    public String name() {
        return location.toString();
    }

    /**
     * The cycle's progress, to be reported here: reading the source counts as movement for
     * {@code --timeout} ({@link StallWatchdog}), and goes on to the progress this was made with.
     */
    public Progress progress() {
        return progress;
    }

    /** Grows whenever anything crosses the channel, keep-alives included; -1 while connecting. */
    private long movement() {
        ServeChannel channel = serve;
        return channel == null ? -1
                : channel.received().count() + channel.sent().count() + channel.messages().keepAlives();
    }

    /** Cuts the channel of a cycle that stood still for the timeout: blocked reads and writes fail, {@link #explain} says why. */
    private void abandon() {
        ServeChannel channel = serve;
        if (channel != null) {
            channel.close();
        }
    }

    /** What the receiver's scrub found, after a cycle with {@code scrub}; empty before, or for a first copy. */
    public Optional<ScrubReport> scrubReport() {
        return Optional.ofNullable(scrubReport);
    }

    /**
     * Connects, starts the receiver and exchanges Hellos, and nothing more: whether a cycle could
     * begin here ({@code standin pair}'s proof of a new key). Failures read as a cycle's would.
     */
    public static Message.Hello greet(RemoteLocation location, SshOptions ssh) throws StandinException {
        // No cycle: the sender cache (the state directory's) is never read.
        try (SshDestination destination = new SshDestination(location, ssh, Path.of("/"), false, Progress.NONE,
                Optional.empty(), Optional.empty())) {
            destination.serve = ServeChannel.open(destination.ownConnection = SshConnection.open(location, ssh),
                    destination.serveCommand(), ssh);
            try {
                return destination.serve.greet();
            } catch (IOException e) {
                throw destination.explain(e);
            }
        }
    }

    private String serveCommand() {
        return ssh.remoteStandin() + " serve --root " + Shell.quote(location.directory());
    }

    private WarmChannels.Key warmKey() {
        return new WarmChannels.Key(location, ssh, serveCommand());
    }

    @Override
    public Replica open(Opening opening) throws StandinException {
        this.opening = opening;
        if (warmChannels.isPresent()) {
            Optional<WarmChannels.Warm> waiting = warmChannels.get().take(warmKey());
            if (waiting.isPresent()) {
                warm = waiting.get();
                serve = warm.channel();
                progress.start(this::abandon);
                try {
                    return talk(() -> openOn(warm.channel().hello(), true));
                } catch (StaleChannelFailure e) {
                    // Nothing was done on the receiver's side: start over on a new connection.
                    warm.close();
                    warm = null;
                    serve = null;
                }
            }
        }
        SshConnection connection = shared.isPresent() ? shared.get() : (ownConnection = SshConnection.open(location, ssh));
        serve = ServeChannel.open(connection, serveCommand(), ssh);
        progress.start(this::abandon);
        return talk(() -> openOn(serve.greet(), false));
    }

    /** A warm channel that failed before the receiver answered Open: safe to start over. */
    private static final class StaleChannel extends IOException {
        private static final long serialVersionUID = 1L;

        StaleChannel(IOException cause) {
            super("the warm channel to the receiver had closed: " + cause.getMessage(), cause);
        }
    }

    private Replica openOn(Message.Hello receiver, boolean warmChannel) throws IOException, StandinException {
        this.hello = receiver;
        if (!Protocol.speaks(receiver)) {
            throw new StandinException(ExitStatus.PROTOCOL, "the receiver (" + receiver.software() + ") speaks protocol "
                    + receiver.minVersion() + ".." + receiver.maxVersion() + ", this sender " + Protocol.VERSION);
        }
        Compression codec = opening.compression().forReader(receiver.capabilities());
        if (codec != Compression.NONE && !receiver.capabilities().contains(codec.wireName())) {
            throw new StandinException(ExitStatus.PROTOCOL, "the receiver cannot decompress " + codec.wireName());
        }
        MessageChannel channel = serve.messages();
        long receivedBeforeOpen = serve.received().count();
        known = senderCache().load();
        try {
            channel.send(new Message.Open(location.name(), opening.sourceLength(), opening.sourceAllocated(),
                    opening.blockSize(), opening.dryRun(), scrub, opening.keepPoints(),
                    known.map(SenderCache.Entry::generation)));
            ready = channel.expect(Message.Ready.class);
        } catch (IOException e) {
            if (warmChannel && !(e instanceof RemoteFailure) && !(e instanceof ProtocolException)
                    && serve.received().count() == receivedBeforeOpen) {
                throw new StaleChannel(e);
            }
            throw e;
        }
        CycleRecovery recovery = CycleRecovery.parse(ready.recovery())
                .orElseThrow(() -> new ProtocolException("the receiver reported recovery '"
                        + WireText.quote(ready.recovery()) + "', which this sender does not know"));
        boolean firstCopy = ready.kind() == Message.ReplicaKind.ABSENT;
        long basisLength = firstCopy ? 0
                : ready.kind() == Message.ReplicaKind.DEVICE ? opening.sourceLength() : ready.replicaLength();
        boolean resuming = ready.heldBytes() > 0;
        cacheMatches = !firstCopy && !scrub && !resuming && known.isPresent() && ready.generation().isPresent()
                && Arrays.equals(known.get().generation(), ready.generation().get())
                && known.get().signatures().blockSize() == ready.blockSize()
                && known.get().signatures().length() == basisLength;
        // The receiver reads its replica unless one of the two caches or an interrupted cycle has its signatures.
        boolean basisRead = !firstCopy && !resuming && (scrub || (!cacheMatches && ready.generation().isEmpty()));
        replica = new Replica(firstCopy, ready.blockSize(), basisLength, resuming, recovery, codec, basisRead);
        return replica;
    }

    private SenderCache senderCache() {
        return SenderCache.of(stateDirectory, location, location.path());
    }

    @Override
    public Basis basis() throws StandinException {
        return talk(this::receiveBasis);
    }

    private Basis receiveBasis() throws IOException, StandinException {
        MessageChannel channel = serve.messages();
        SenderCache cache = senderCache();
        int blockSize = replica.blockSize();
        if (known.isPresent()) {
            // Used (or found stale) once: until this cycle's commit stores its successor, the next
            // cycle asks the receiver. A cache that is wrong for any reason cannot fail cycles forever.
            cache.invalidate();
        }
        channel.send(new Message.Begin(!replica.firstCopy() && !cacheMatches));
        channel.output().flush();
        if (replica.firstCopy()) {
            basisSignatures = Signatures.empty(blockSize);
            return new Basis(basisSignatures, DeltaHeader.NO_BASIS, SignatureSource.NONE, 0, List.of());
        }
        if (cacheMatches) {
            basisSignatures = known.get().signatures();
            return new Basis(basisSignatures, known.get().generation(), SignatureSource.SENDER_CACHE, 0, List.of());
        }
        progress.phase("receiving the replica's signatures", 0);
        Message.SignaturesBegin head = channel.expect(Message.SignaturesBegin.class);
        if (head.blockSize() != blockSize || head.length() != replica.basisLength()) {
            throw new ProtocolException("receiver sent signatures of " + head.length() + " bytes in "
                    + head.blockSize() + "-byte blocks, expected " + replica.basisLength() + " in " + blockSize);
        }
        SignatureSource source = SignatureSource.fromReceiver(head.source())
                .orElseThrow(() -> new ProtocolException("the receiver named its signatures' source '"
                        + WireText.quote(head.source()) + "', which this sender does not know"));
        basisSignatures = new Signatures(replica.basisLength(), blockSize);
        receiveSignatures(channel, basisSignatures);
        byte[] digest = channel.expect(Message.SignaturesEnd.class).digest();
        if (!Arrays.equals(digest, basisSignatures.digest())) {
            throw new ProtocolException("the receiver's signatures do not match their own digest");
        }
        if (scrub) {
            scrubReport = Protocol.JSON.readValue(channel.expect(Message.ScrubResult.class).json(), ScrubReport.class);
        }
        return new Basis(basisSignatures, basisSignatures.digest(), source, head.bytesRead(), List.of());
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

    @Override
    public Delivery deliver(DeltaHeader header) {
        if (opening.dryRun()) {
            throw new IllegalStateException("a dry run delivers nothing (DryRunDestination)");
        }
        return new Delivery() {
            @Override
            public OutputStream stream() {
                return serve.messages().output();
            }

            @Override
            public boolean wantsSignatures() {
                // The receiver then sends no signatures back: this end computes them as it reads.
                return hello.capabilities().contains(Protocol.SENDER_SIGNATURES);
            }

            @Override
            public Committed commit(SourceSender.Sent scan, long deltaBytes) throws StandinException {
                return talk(() -> receiveCommit(scan, deltaBytes));
            }

            @Override
            public StandinException failed(Exception cause) {
                if (progress.stalled()) { // the watchdog cut the channel: whatever broke, that is why
                    return explain(cause instanceof IOException io ? io : new IOException(cause));
                }
                if (cause instanceof IOException io && receiverEnded()) {
                    return explain(io); // the channel broke: the receiver has usually said why
                }
                // This side failed with the channel still up: cut it, so the receiver discards what
                // it holds rather than waiting for the rest of the stream.
                serve.close();
                return Failures.wrap(cause, "source ");
            }
        };
    }

    /**
     * Whether the receiver ended its side, waiting a moment for it: a write fails as soon as the
     * receiver stops reading, a little before its channel is seen to close.
     */
    private boolean receiverEnded() {
        if (!serve.isOpen()) {
            return true;
        }
        try {
            return serve.exec().awaitExit(1_000) != -1 || !serve.isOpen();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private Committed receiveCommit(SourceSender.Sent scan, long deltaBytes) throws IOException, StandinException {
        MessageChannel channel = serve.messages();
        channel.output().close(); // EOF: the receiver commits only a stream that ended where it should
        deltaDelivered = true;
        progress.phase("receiver verifying and committing", 0);
        SenderCache cache = senderCache();
        Signatures after = scan.signatures()
                .orElseGet(() -> SignatureTransfer.resized(basisSignatures, opening.sourceLength()));
        boolean patched = false;
        Message.Committed committed;
        while (true) {
            Message m = channel.receive();
            if (m instanceof Message.SignatureChunk chunk) {
                SignatureTransfer.receive(chunk, after);
                patched = true;
            } else if (m instanceof Message.Committed c) {
                committed = c;
                break;
            } else if (m instanceof Message.Failure f) {
                throw new RemoteFailure(f);
            } else {
                throw new ProtocolException("expected Committed, the receiver sent " + m.getClass().getSimpleName());
            }
        }
        if (!Arrays.equals(committed.digest(), scan.digest())) {
            cache.invalidate();
            throw new StandinException(ExitStatus.VERIFY, "receiver committed digest "
                    + ImageDigest.hex(committed.digest()) + " but the source read " + ImageDigest.hex(scan.digest())
                    + "; the next cycle re-reads the replica's signatures and repairs it");
        }
        // Signatures computed here have the scan's leaves, whose digest was just compared.
        boolean digestKnown = scan.signatures().isPresent() && !patched;
        if (!digestKnown && !Arrays.equals(after.digest(), committed.digest())) {
            cache.invalidate(); // the receiver's diff did not add up: fetch its signatures next time
        } else {
            try {
                cache.store(after, committed.digest());
            } catch (IOException e) {
                cache.invalidate(); // without it the next cycle asks the receiver for its signatures
            }
        }
        completed = true;
        return new Committed(committed.pointId(), serve.received().count() + serve.sent().count());
    }

    @FunctionalInterface
    private interface Exchange<T> {
        T run() throws IOException, StandinException;
    }

    /** Runs one exchange with the receiver, turning what it or the channel did wrong into one failure. */
    private <T> T talk(Exchange<T> exchange) throws StandinException {
        try {
            return exchange.run();
        } catch (StaleChannel e) {
            throw new StaleChannelFailure(e);
        } catch (IOException e) {
            throw explain(e);
        }
    }

    /** Carries a {@link StaleChannel} out of {@link #talk} to {@link #open}, which starts over. */
    private static final class StaleChannelFailure extends StandinException {
        private static final long serialVersionUID = 1L;

        StaleChannelFailure(StaleChannel cause) {
            super(ExitStatus.DESTINATION, cause.getMessage(), cause);
        }
    }

    /**
     * When a write to the channel fails, the receiver has usually said why before it closed it:
     * prefer its Failure message, then its stderr, then the local error.
     */
    private StandinException explain(IOException e) {
        if (progress.stalled()) {
            return new StandinException(ExitStatus.DESTINATION, "nothing moved to or from " + location.host() + " for "
                    + progress.timeout().toSeconds() + " s (--timeout): the receiver is hung or its disk stopped "
                    + "answering" + outcome(), e);
        }
        if (e instanceof RemoteFailure f) {
            return f.at(location.host());
        }
        SshConnection.Exec exec = serve.exec();
        if (e instanceof ProtocolException p && p.getMessage().contains("before saying anything")) {
            return didNotStart(exec, e);
        }
        if (e instanceof ProtocolException p) {
            String stderr = exec.stderr();
            return new StandinException(ExitStatus.PROTOCOL, "protocol error with " + location.host() + ": "
                    + p.getMessage() + (stderr.isEmpty() ? "" : " (remote stderr: " + stderr + ")"), e);
        }
        try {
            Message m = serve.messages().receive();
            if (m instanceof Message.Failure f) {
                StandinException failure = new RemoteFailure(f).at(location.host());
                failure.addSuppressed(e);
                return failure;
            }
        } catch (IOException | RuntimeException ignored) {
            // nothing more from the receiver
        }
        String stderr = exec.stderr();
        String what = e instanceof EOFException ? "the connection to " + location.host() + " closed"
                : "the connection to " + location.host() + " failed: " + Failures.reason(e);
        return new StandinException(ExitStatus.DESTINATION, what + (stderr.isEmpty() ? "" : " (remote stderr: " + stderr
                + ")") + outcome(), e);
    }

    /**
     * What a broken channel left of the replica. Once the whole delta is out, the receiver may have
     * committed before the break: only the next cycle's recovery can tell, and it makes the replica
     * one point or the other.
     */
    private String outcome() {
        return deltaDelivered
                ? " after the whole delta was sent and before the receiver confirmed its commit; whether the replica "
                        + "is at the new point or still at its previous one is unknown, and the next cycle settles it "
                        + "(it is one or the other, never a mix)"
                : "; the replica stays at its last committed point";
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

    /**
     * Ends the channel. After a cycle that succeeded, a connection of this destination's own
     * opens the next warm channel (with {@code warmChannels}); otherwise it is closed.
     */
    @Override
    public void close() {
        progress.close();
        if (warm != null) {
            if (completed) {
                warm.channel().close();
                warmChannels.get().prepare(warmKey(), warm.connection());
            } else {
                warm.close();
            }
            warm = null;
            return;
        }
        if (serve != null) {
            serve.close();
        }
        if (ownConnection != null) {
            if (completed && warmChannels.isPresent()) {
                warmChannels.get().prepare(warmKey(), ownConnection);
            } else {
                ownConnection.close();
            }
            ownConnection = null;
        }
    }
}
