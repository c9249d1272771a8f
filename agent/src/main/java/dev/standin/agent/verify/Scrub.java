package dev.standin.agent.verify;

import dev.standin.agent.image.DiskImage;
import dev.standin.agent.replica.Journal;
import dev.standin.agent.replica.JournalException;
import dev.standin.agent.replica.SignatureCache;
import dev.standin.agent.sync.Cycle;
import dev.standin.agent.sync.DestinationLock;
import dev.standin.agent.sync.LocalDestination;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.Reading;
import dev.standin.agent.sync.ReplicaSigner;
import dev.standin.agent.sync.SegmentPipeline;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Scrubs a replica: reads every block of it and compares the block's weak and strong sums with
 * what the last commit recorded (the signature record beside the replica,
 * docs/signature-cache.md). This is how drift is found that no cycle notices: bit rot, and writes
 * that the record's identity check cannot see. Only content is trusted here; the replica's
 * identity (inode, size, mtime, ctime) is reported but never taken as proof, because bit rot and
 * writes beneath the filesystem do not change it.
 *
 * <p>Two uses, both under the destination lock that {@code standin sync} takes:
 *
 * <ul>
 *   <li>{@link #scrub(Path)}: report only. When blocks drifted, the record is deleted, so the next
 *       sync reads the replica instead of trusting the record, and rewrites exactly those blocks.
 *   <li>{@link #repair(SyncOptions)}: the scrub runs inside a sync from the source as its replica
 *       signer, so the replica is read once, and the sync rewrites, through its journal, every
 *       block that drifted or that differs from the source.
 * </ul>
 */
public final class Scrub {

    private final ScrubOptions options;
    private final Progress progress;
    private final Optional<NativeIo> io;

    public Scrub(ScrubOptions options, Progress progress) {
        this.options = options;
        this.progress = progress;
        this.io = options.useNative() ? NativeIo.tryLoad() : Optional.empty();
    }

    /** Reads {@code replica} and compares it with its record; deletes the record if blocks drifted. */
    public ScrubReport scrub(Path replica) throws StandinException, InterruptedException {
        long started = System.nanoTime();
        try {
            requireReplica(replica);
            try (DestinationLock lock = DestinationLock.acquire(replica)) {
                boolean device = isBlockDevice(replica);
                Journal.Recovery recovery = recover(replica, device);
                Lookup lookup = device ? Lookup.DEVICE : lookup(replica);
                if (lookup.recorded().isEmpty()) {
                    return notCompared(replica, lookup, recovery, started);
                }
                Signatures recorded = lookup.recorded().get().signatures();
                try (DiskImage image = DiskImage.open(replica, false, options.dropCache(), io)) {
                    long length = image.size();
                    SegmentPipeline pipeline = pipeline(recorded.blockSize());
                    Scanned scanned;
                    try {
                        scanned = scan(pipeline, image, length, recorded.blockSize(), recorded);
                    } catch (Exception e) {
                        throw classify(e, replica);
                    }
                    if (scanned.drift().blocks() > 0) {
                        forgetRecord(replica);
                    }
                    return report(replica, lookup, recovery, scanned, recorded, started);
                }
            }
        } catch (IOException e) {
            throw new StandinException(ExitStatus.DESTINATION, "replica " + replica + ": " + dev.standin.agent.sync.Failures.reason(e), e);
        } finally {
            progress.finish();
        }
    }

    /** A scrub and a repair, as one cycle. */
    public record Repair(ScrubReport scrub, SyncStats sync) {}

    /**
     * Syncs {@code sync.destination()} from {@code sync.source()} with the replica's signatures
     * taken by a scrub (never by the record), so every drifted block is rewritten. Unless the
     * options fix a block size, the record's is used, so that the scrub can compare block by block.
     */
    public Repair repair(SyncOptions sync) throws StandinException, InterruptedException {
        long started = System.nanoTime();
        Path replica = sync.destination();
        requireReplica(replica);
        if (sync.blockSize() == 0) {
            Optional<Integer> recordedBlockSize = lookup(replica).recorded().map(r -> r.signatures().blockSize());
            if (recordedBlockSize.isPresent()) {
                sync = sync.withBlockSize(recordedBlockSize.get());
            }
        }
        AtomicReference<ScrubReport> scrubbed = new AtomicReference<>();
        ReplicaSigner signer = signerFor(replica, scrubbed::set);
        Reading reading = Reading.of(sync);
        SyncStats stats;
        try (LocalDestination destination = new LocalDestination(replica, sync.stateDirectory(), reading, progress,
                Optional.of(signer))) {
            stats = new Cycle(sync, reading, progress).run(destination, null);
        }
        ScrubReport report = scrubbed.get();
        if (report == null) {
            // An empty replica file: the sync made a first copy and there was nothing to scrub.
            report = new ScrubReport(replica.toString(), "missing", "the replica was empty; the sync made a first copy",
                    List.of(), stats.recovery().text(), false, 0, stats.blockSize(), 0, 0, 0, 0, List.of(), 0, null, null,
                    (System.nanoTime() - started) / 1e9);
        } else {
            report = withRecovery(report, stats.recovery().text());
        }
        return new Repair(report, stats);
    }

    /**
     * A scrub as the replica signer of a sync cycle (for a {@link LocalDestination} here, and for the
     * receiving side of a sync over SSH): signs the replica as the cycle asks, compares it with
     * its record on the way, deletes the record on drift, and hands the report to {@code reports}.
     */
    public ReplicaSigner signerFor(Path replica, Consumer<ScrubReport> reports) {
        return (pipeline, image, length, blockSize) -> {
            long signStarted = System.nanoTime();
            Lookup lookup = image.isBlockDevice() ? Lookup.DEVICE : lookup(replica);
            Signatures recorded = lookup.recorded().map(SignatureCache.Recorded::signatures).orElse(null);
            if (recorded != null && recorded.blockSize() != blockSize) {
                lookup = new Lookup(Optional.empty(), "other-block-size", "the record uses blocks of "
                        + recorded.blockSize() + " bytes and this cycle " + blockSize + "; blocks were not compared",
                        lookup.identityChanges());
                recorded = null;
            }
            // Its own descriptor, to drop the replica's pages behind the scrub as a sync does the source's.
            try (DiskImage reader = DiskImage.open(image.path(), false, options.dropCache(), io)) {
                Scanned scanned = scan(pipeline, reader, length, blockSize, recorded);
                if (scanned.drift().blocks() > 0 && !image.isBlockDevice()) {
                    forgetRecord(replica); // at once: the sync that follows may still fail
                }
                reports.accept(report(replica, lookup, Journal.Recovery.NONE, scanned, recorded, signStarted));
                return new ReplicaSigner.Signed(scanned.actual(), scanned.bytesRead());
            }
        };
    }

    /** The record beside a replica, or why there is none to compare with. */
    private record Lookup(Optional<SignatureCache.Recorded> recorded, String status, String detail,
            List<String> identityChanges) {

        static final Lookup DEVICE = new Lookup(Optional.empty(), "missing",
                "block devices have no signature record (nothing cheap proves a device unchanged); "
                        + "verify it against its source with --against SOURCE", List.of());
    }

    private static Lookup lookup(Path replica) {
        try {
            Optional<SignatureCache.Recorded> recorded = SignatureCache.loadIgnoringIdentity(replica);
            if (recorded.isEmpty()) {
                return new Lookup(recorded, "missing", "no signature record " + SignatureCache.pathFor(replica)
                        + ", so nothing to compare with; verify against the source with --against SOURCE "
                        + "(the next sync writes a new record)", List.of());
            }
            List<String> changes = recorded.get().identityChanges();
            if (changes.isEmpty()) {
                return new Lookup(recorded, "intact", "the record of the last commit; the replica's identity is as "
                        + "recorded, and its content was compared all the same", changes);
            }
            return new Lookup(recorded, "identity-changed", "the replica's " + String.join(", ", changes)
                    + " changed since the last commit (it was written, touched or replaced); its content was "
                    + "compared with the record", changes);
        } catch (IOException e) {
            return new Lookup(Optional.empty(), "damaged", "the signature record cannot be used: " + e.getMessage()
                    + "; verify against the source with --against SOURCE", List.of());
        }
    }

    /** The replica's signatures as read, and the blocks that differ from the record. */
    private record Scanned(Signatures actual, long bytesRead, DriftTally drift) {}

    private Scanned scan(SegmentPipeline pipeline, DiskImage image, long length, int blockSize, Signatures recorded)
            throws Exception {
        Signatures actual = new Signatures(length, blockSize);
        DriftTally drift = new DriftTally();
        progress.phase("scrubbing replica", length);
        long bytesRead = pipeline.run(image, length, (offset, data, n) -> {
            SignatureBuilder builder = new SignatureBuilder(actual);
            if (data == null) {
                builder.addZeros(offset, n);
            } else {
                builder.add(offset, data, n);
            }
            return Boolean.TRUE;
        }, (offset, n, signed) -> {
            if (recorded != null) {
                // Segments hold whole blocks (they are a multiple of the block size), in image order.
                int first = (int) (offset / blockSize);
                int end = (int) ((offset + n + blockSize - 1) / blockSize);
                compare(actual, recorded, first, end, drift);
            }
        }, progress::done);
        if (recorded != null && recorded.blockCount() > actual.blockCount()) {
            compare(actual, recorded, actual.blockCount(), recorded.blockCount(), drift); // the replica shrank
        }
        return new Scanned(actual, bytesRead, drift);
    }

    private static void compare(Signatures actual, Signatures recorded, int from, int to, DriftTally drift) {
        for (int i = from; i < to; i++) {
            boolean inActual = i < actual.blockCount();
            boolean inRecorded = i < recorded.blockCount();
            boolean same = inActual && inRecorded
                    && actual.blockLength(i) == recorded.blockLength(i)
                    && actual.weak(i) == recorded.weak(i)
                    && actual.strong(i) == recorded.strong(i);
            if (!same) {
                int length = Math.max(inActual ? actual.blockLength(i) : 0, inRecorded ? recorded.blockLength(i) : 0);
                drift.add((long) i * actual.blockSize(), length);
            }
        }
    }

    private SegmentPipeline pipeline(int blockSize) {
        return new SegmentPipeline(Math.max(options.segmentSize(), blockSize), options.threads(), options.idleIo(), io);
    }

    private ScrubReport report(Path replica, Lookup lookup, Journal.Recovery recovery, Scanned scanned,
            Signatures recorded, long started) {
        DriftTally drift = scanned.drift();
        return new ScrubReport(replica.toString(), lookup.status(), lookup.detail(), lookup.identityChanges(),
                name(recovery), recorded != null, scanned.actual().length(), scanned.actual().blockSize(),
                scanned.actual().blockCount(), scanned.bytesRead(), drift.blocks(), drift.bytes(), drift.ranges(),
                drift.rangesOmitted(), recorded == null ? null : ImageDigest.hex(recorded.digest()),
                ImageDigest.hex(scanned.actual().digest()), (System.nanoTime() - started) / 1e9);
    }

    private ScrubReport notCompared(Path replica, Lookup lookup, Journal.Recovery recovery, long started) {
        return new ScrubReport(replica.toString(), lookup.status(), lookup.detail(), lookup.identityChanges(),
                name(recovery), false, 0, 0, 0, 0, 0, 0, List.of(), 0, null, null, (System.nanoTime() - started) / 1e9);
    }

    private static ScrubReport withRecovery(ScrubReport r, String recovery) {
        return new ScrubReport(r.replica(), r.record(), r.recordDetail(), r.identityChanges(), recovery, r.compared(),
                r.length(), r.blockSize(), r.blocksChecked(), r.bytesRead(), r.blocksDrifted(), r.bytesDrifted(),
                r.driftedRanges(), r.rangesOmitted(), r.expectedDigest(), r.actualDigest(), r.seconds());
    }

    private static String name(Journal.Recovery recovery) {
        return recovery.name().toLowerCase(Locale.ROOT);
    }

    /**
     * Deletes the record after drift. A record whose identity still matches (bit rot, a write
     * beneath the filesystem) would otherwise be trusted by the next sync, which would then neither
     * read nor repair the drifted blocks.
     */
    private static void forgetRecord(Path replica) throws StandinException {
        try {
            SignatureCache.invalidate(replica);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.DESTINATION, "the replica drifted but its signature record "
                    + SignatureCache.pathFor(replica) + " cannot be deleted (" + e.getMessage()
                    + "); delete it before the next sync, which would otherwise trust it", e);
        }
    }

    private static void requireReplica(Path replica) throws StandinException {
        if (!Files.exists(replica)) {
            throw new StandinException(ExitStatus.DESTINATION, "replica " + replica + " does not exist");
        }
        if (Files.isDirectory(replica)) {
            throw new StandinException(ExitStatus.DESTINATION, "replica " + replica + " is a directory, not a disk image");
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

    /** As a sync does first: the replica is consistent only once an interrupted commit is finished. */
    private Journal.Recovery recover(Path replica, boolean device) throws StandinException {
        try {
            return Journal.recover(Journal.pathFor(replica, device, options.stateDirectory()), replica, device, io);
        } catch (JournalException e) {
            throw new StandinException(ExitStatus.PROTOCOL, "journal of " + replica + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.DESTINATION,
                    "cannot recover the journal of " + replica + ": " + e.getMessage(), e);
        }
    }

    /** The pipeline's failures, as the command reports them. */
    static StandinException classify(Exception e, Path replica) {
        if (e instanceof StandinException s) {
            return s;
        }
        if (e instanceof InterruptedException || e instanceof InterruptedIOException) {
            return new StandinException(ExitStatus.INTERRUPTED, "interrupted; the replica is unchanged", e);
        }
        return new StandinException(e instanceof IOException ? ExitStatus.DESTINATION : ExitStatus.ERROR,
                "replica " + replica + ": " + dev.standin.agent.sync.Failures.reason(e), e);
    }
}
