package dev.standin.agent.sync;

import dev.standin.agent.image.DiskImage;
import dev.standin.delta.DeltaOp;
import dev.standin.delta.ImageDigest;
import dev.standin.delta.MatchStats;
import dev.standin.delta.MoveSearch;
import dev.standin.delta.SegmentDelta;
import dev.standin.delta.SegmentMatcher;
import dev.standin.delta.Signatures;
import dev.standin.delta.WeakIndex;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaEncoder;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The sending half of a cycle: scans the source segment by segment on the pipeline's threads,
 * matches each against the replica's signatures and writes the delta stream, in order, to a wire
 * (an in-process pipe, an SSH channel, or nothing in a dry run).
 */
public final class SourceSender {

    /**
     * What the scan found: block counts, bytes read from the source, the source's digest and, when
     * asked for, the signatures of every source block (what the replica's will be once it commits).
     */
    public record Sent(MatchStats stats, long sourceRead, byte[] digest, Optional<Signatures> signatures) {}

    private SourceSender() {}

    public static long sourceSize(DiskImage source) throws StandinException {
        try {
            return source.size();
        } catch (IOException e) {
            throw new StandinException(ExitStatus.SOURCE, "source " + source.path() + ": " + Failures.reason(e), e);
        }
    }

    /** The bytes of the source that hold data: what a first copy needs at most. */
    public static long allocatedBytes(DiskImage source, long length) throws IOException {
        long needed = 0;
        for (var extent : source.dataExtents(0, length)) {
            needed += extent.length();
        }
        return needed;
    }

    /**
     * Writes the whole delta stream of {@code source} against {@code basis} to {@code wire},
     * including the end frame with the source's digest. Does not close the wire.
     * {@code moves} {@link MoveSearch#NONE} keeps to same-offset matches: a resumed first copy's
     * basis is the staging file being written, which must not be read at other offsets. Segments {@code unread}
     * covers (change tracking says they are unchanged) are not read; null reads everything.
     * With {@code signTarget} the result carries the source's block signatures, computed by the
     * receiver's rule ({@link SegmentMatcher#signingTarget}), so that nobody need send them back.
     */
    public static Sent send(SegmentPipeline pipeline, DiskImage source, Signatures basis, DeltaHeader header,
            OutputStream wire, Compression compression, MoveSearch moves, SegmentPipeline.Unread<SegmentDelta> unread,
            boolean signTarget, Progress progress) throws Exception {
        int blockSize = header.blockSize();
        boolean firstCopy = header.basisLength() == 0;
        MoveSearch search = firstCopy ? MoveSearch.NONE : moves;
        // Built while the scan starts: unchanged blocks do not need it, the first other block waits for it.
        CompletableFuture<WeakIndex> index = search == MoveSearch.NONE ? null : buildIndex(basis);
        ThreadLocal<SegmentMatcher> matchers = ThreadLocal.withInitial(() -> {
            SegmentMatcher matcher = new SegmentMatcher(basis, index == null ? null : index::join, blockSize, search);
            return signTarget ? matcher.signingTarget() : matcher;
        });
        ImageDigest digest = new ImageDigest(header.targetLength(), blockSize);
        Signatures signatures = signTarget ? new Signatures(header.targetLength(), blockSize) : null;
        progress.phase(firstCopy ? "copying" : "scanning source", header.targetLength());
        try (DeltaEncoder encoder = new DeltaEncoder(wire, header, compression)) {
            return send(pipeline, source, header, encoder, matchers, digest, signatures, unread, progress);
        }
    }

    private static Sent send(SegmentPipeline pipeline, DiskImage source, DeltaHeader header, DeltaEncoder encoder,
            ThreadLocal<SegmentMatcher> matchers, ImageDigest digest, Signatures signatures,
            SegmentPipeline.Unread<SegmentDelta> unread, Progress progress) throws Exception {
        MatchStats[] stats = {MatchStats.NONE};
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
            if (signatures != null) {
                sign(signatures, header.blockSize(), delta);
            }
            stats[0] = stats[0].plus(delta.stats());
        }, progress::done, unread);
        long sizeNow = sourceSize(source);
        if (sizeNow != header.targetLength()) {
            // Checked before the end frame, so the receiver never commits a torn read.
            throw new StandinException(ExitStatus.SOURCE, "source " + source.path() + " changed size during the cycle ("
                    + header.targetLength() + " -> " + sizeNow + " bytes); nothing was committed");
        }
        byte[] sourceDigest = digest.finish();
        encoder.finish(sourceDigest);
        return new Sent(stats[0], sourceRead, sourceDigest, Optional.ofNullable(signatures));
    }

    private static CompletableFuture<WeakIndex> buildIndex(Signatures basis) {
        return CompletableFuture.supplyAsync(() -> WeakIndex.of(basis), task -> {
            Thread builder = new Thread(task, "standin-index");
            builder.setDaemon(true);
            builder.start();
        });
    }

    private static void sign(Signatures signatures, int blockSize, SegmentDelta delta) {
        int first = Math.toIntExact(delta.offset() / blockSize);
        long[] leaves = delta.leaves();
        int[] weaks = delta.weaks();
        for (int i = 0; i < leaves.length; i++) {
            signatures.set(first + i, weaks[i], leaves[i]);
        }
    }

    private static void addLeaves(ImageDigest digest, SegmentDelta delta) {
        for (long leaf : delta.leaves()) {
            digest.addLeaf(leaf);
        }
    }
}
