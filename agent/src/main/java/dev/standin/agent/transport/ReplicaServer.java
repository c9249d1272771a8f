package dev.standin.agent.transport;

import dev.standin.agent.failover.Failover;
import dev.standin.agent.failover.Virsh;
import dev.standin.agent.sync.Destination;
import dev.standin.agent.sync.Failures;
import dev.standin.agent.sync.LocalDestination;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.Reading;
import dev.standin.agent.sync.ReplicaSession;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.verify.Scrub;
import dev.standin.agent.verify.ScrubOptions;
import dev.standin.agent.verify.ScrubReport;
import dev.standin.agent.vm.VmPoint;
import dev.standin.agent.vm.VmPointFormat;
import dev.standin.agent.vm.VmPointFormatException;
import dev.standin.agent.vm.VmPoints;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.Compression;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The receiving end of one cycle over the standin protocol ({@code standin serve}): everything it
 * touches is inside its {@link ReplicaRoot}; the replica is written only through
 * {@link LocalDestination}, the same journaled path a local sync uses: this class only maps the
 * protocol's messages to its calls.
 */
public final class ReplicaServer {

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
            channel.send(Protocol.hello());
            channel.send(Message.Failure.of(failure, WireText.reason(failure.getMessage())));
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
            channel.send(Protocol.hello());
            channel.expectPreamble();
            Message.Hello hello = channel.expect(Message.Hello.class);
            if (!Protocol.speaks(hello)) {
                throw new StandinException(ExitStatus.PROTOCOL, "the sender speaks protocol versions "
                        + hello.minVersion() + ".." + hello.maxVersion() + ", this receiver " + Protocol.VERSION);
            }
            Optional<Message> next = channel.receiveOrEnd();
            if (next.isEmpty()) {
                // A warm channel the sender let go without using (docs/protocol.md): nothing to do.
                return ExitStatus.OK.code();
            }
            Message request = next.get();
            replicaName = request instanceof Message.Open o ? o.path() : request instanceof Message.Verify v ? v.path()
                    : request instanceof Message.RecordVmPoint r ? r.path()
                    : request instanceof Message.CheckBoot c ? c.path()
                    : request instanceof Message.StartVm v ? v.path() : null;
            if (request instanceof Message.Verify verify) {
                ScrubReport report = scrub(Progress.NONE).scrub(root.resolve(verify.path()));
                channel.send(new Message.ScrubResult(Protocol.JSON.writeValueAsString(report)));
                return ExitStatus.OK.code();
            }
            if (request instanceof Message.CheckBoot check) {
                channel.send(new Message.BootReport(checkBoot(check).json()));
                return ExitStatus.OK.code();
            }
            if (request instanceof Message.StartVm start) {
                channel.send(new Message.BootReport(startVm(start).json()));
                return ExitStatus.OK.code();
            }
            if (request instanceof Message.RecordVmPoint record) {
                channel.send(new Message.VmPointRecorded(recordVmPoint(record).id()));
                return ExitStatus.OK.code();
            }
            if (!(request instanceof Message.Open open)) {
                throw new ProtocolException("expected Open, Verify, RecordVmPoint, CheckBoot or StartVm, the sender sent "
                        + request.getClass().getSimpleName());
            }
            cycle(channel, open, root.resolve(open.path()), hello.capabilities().contains(Protocol.SENDER_SIGNATURES));
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
                channel.send(Message.Failure.of(failure, reason));
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

    /** One cycle: each message becomes a call on the replica's {@link LocalDestination}, in the contract's order. */
    private void cycle(MessageChannel channel, Message.Open open, Path destination, boolean senderSigns)
            throws IOException, StandinException {
        AtomicReference<ScrubReport> scrubbed = new AtomicReference<>();
        int keep = open.keepPoints() >= 0 ? open.keepPoints() : SyncOptions.DEFAULT_KEEP_POINTS;
        try (Heartbeat heartbeat = Heartbeat.start(channel, Heartbeat.INTERVAL);
                LocalDestination replica = new LocalDestination(destination, stateDirectory,
                        Reading.receiving(threads, io), heartbeat, open.scrub()
                                ? Optional.of(scrub(heartbeat).signerFor(destination, scrubbed::set)) : Optional.empty())) {
            // The codec is the sender's choice, named in the stream's header; this end reads any it lists.
            Destination.Replica opened = replica.open(new Destination.Opening(open.sourceLength(),
                    open.sourceAllocated(), open.blockSize(), open.dryRun(), keep, Compression.NONE));
            if (opened.firstCopy() && open.scrub()) {
                throw new StandinException(ExitStatus.DESTINATION, "there is no replica at " + open.path()
                        + " to verify; 'standin sync' makes a first copy");
            }
            Message.ReplicaKind kind = replica.isBlockDevice() ? Message.ReplicaKind.DEVICE
                    : opened.resuming() ? Message.ReplicaKind.PARTIAL
                    : opened.firstCopy() ? Message.ReplicaKind.ABSENT : Message.ReplicaKind.FILE;
            channel.send(new Message.Ready(kind, replica.replicaLength(), opened.blockSize(), replica.generation(),
                    opened.recovery().text(), replica.availableBytes(), replica.heldBytes()));
            Message.Begin begin = channel.expect(Message.Begin.class);
            Destination.Basis basis;
            if (begin.wantSignatures() || open.scrub()) {
                basis = replica.basis(false);
                Signatures signatures = basis.signatures();
                channel.send(new Message.SignaturesBegin(signatures.length(), signatures.blockSize(),
                        basis.source().text(), basis.bytesRead()));
                SignatureTransfer.sendRange(channel, signatures, 0, signatures.blockCount());
                channel.send(new Message.SignaturesEnd(opened.firstCopy() && !opened.resuming() ? signatures.digest()
                        : basis.headerDigest()));
                if (scrubbed.get() != null) {
                    channel.send(new Message.ScrubResult(Protocol.JSON.writeValueAsString(scrubbed.get())));
                }
            } else if (opened.firstCopy()) {
                basis = replica.basis(false);
            } else {
                basis = replica.basisFromCache().orElseThrow(() -> new StandinException(ExitStatus.PROTOCOL,
                        "the sender holds signatures of a generation this receiver does not know; nothing was written"));
            }
            if (open.dryRun()) {
                drain(channel.input());
                return;
            }
            ReplicaSession.Committed committed = replica.apply(channel.input());
            if (!replica.droppedPoints().isEmpty()) {
                log.line("replica '" + WireText.quote(open.path()) + "' no longer held its newest recovery point "
                        + "(changed outside standin); dropped points " + replica.droppedPoints()
                        + ", which depended on it");
            }
            if (!senderSigns) {
                SignatureTransfer.sendChanges(channel, basis.signatures(), committed.signatures());
            }
            heartbeat.close();
            channel.send(new Message.Committed(committed.digest(), committed.pointId()));
            // After the answer: the sender need not wait for a file that only saves the next cycle a
            // read. The next cycle's Open waits for this session's lock (DestinationLock.PATIENCE).
            replica.keepSignatures(committed);
        }
    }

    /**
     * Records a VM point beside the replica the message names, after checking that the record is
     * intact and that every disk it names is a replica there (inside the root).
     */
    private VmPoint recordVmPoint(Message.RecordVmPoint message) throws IOException, StandinException {
        Path first = root.resolve(message.path());
        VmPoint point;
        try {
            point = VmPointFormat.decode(message.record(), "the sender's VM point");
        } catch (VmPointFormatException e) {
            throw new ProtocolException(e.getMessage());
        }
        Path directory = first.getParent();
        String relativeDirectory = message.path().contains("/")
                ? message.path().substring(0, message.path().lastIndexOf('/') + 1) : "";
        for (VmPoint.Disk disk : point.disks()) {
            Path replica = root.resolve(relativeDirectory + disk.replica());
            if (!java.nio.file.Files.isRegularFile(replica)) {
                throw new StandinException(ExitStatus.DESTINATION, "VM " + point.vm() + "'s disk " + disk.replica()
                        + " has no replica in " + directory + "; no VM point was recorded");
            }
        }
        return new VmPoints(directory, point.vm()).record(point, stateDirectory, io);
    }

    /** A test failover of the VM's newest point in the directory of the replica the message names. */
    private Failover.Report checkBoot(Message.CheckBoot check) throws IOException, StandinException,
            InterruptedException {
        Path directory = root.resolve(check.path()).getParent();
        return new Failover(log::line).run(Failover.Request.bootCheck(check.vm(), directory,
                Duration.ofSeconds(check.timeoutSeconds()), stateDirectory, Virsh.DEFAULT_URI));
    }

    /** A planned move's last step: the VM point its last cycle recorded, started for real here. */
    private Failover.Report startVm(Message.StartVm start) throws IOException, StandinException, InterruptedException {
        Path directory = root.resolve(start.path()).getParent();
        return new Failover(log::line).run(Failover.Request.plannedStart(start.vm(), directory, start.point(),
                Duration.ofSeconds(start.timeoutSeconds()), stateDirectory));
    }

    private Scrub scrub(Progress progress) {
        return new Scrub(ScrubOptions.defaults().withThreads(threads).withStateDirectory(stateDirectory), progress);
    }

    private static void drain(InputStream in) throws IOException {
        byte[] b = new byte[8192];
        while (in.read(b) >= 0) {
            // a dry run's sender sends nothing more; wait for it to close
        }
    }
}
