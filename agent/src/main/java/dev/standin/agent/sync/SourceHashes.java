package dev.standin.agent.sync;

import dev.standin.agent.image.DiskImage;
import dev.standin.delta.StrongHash;
import dev.standin.delta.ZeroBlocks;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * The strong hash of every block of the source, computed on a thread of its own while the
 * destination reads its replica for the basis: a seeding cycle (a replica copied by hand, a lost
 * cache, a reverse after a failover, a block-device replica) then reads source and replica at
 * once, as rsync's sender and generator do, instead of one after the other. On two hosts the two
 * reads overlap; on one they share its cores and disks. Compared with the basis afterwards
 * ({@link UnchangedSegments#hashedAs}), the hashes leave only the segments that differ for the
 * scan to read again and match.
 *
 * <p>Only an aid: if hashing the source fails, {@link #leaves} is empty and the scan reads
 * everything, meeting the failure itself and reporting it as a source's.
 */
final class SourceHashes implements AutoCloseable {

    private final CompletableFuture<long[]> leaves = new CompletableFuture<>();
    private final Thread thread;
    private volatile boolean cancelled;
    private volatile long bytesRead;

    private SourceHashes(SegmentPipeline pipeline, DiskImage source, long length, int blockSize) {
        thread = new Thread(() -> {
            try {
                leaves.complete(hash(pipeline, source, length, blockSize));
            } catch (Throwable e) {
                leaves.completeExceptionally(e);
            }
        }, "standin-source-hashes");
        thread.setDaemon(true);
    }

    /** Starts hashing {@code length} bytes of {@code source} in {@code blockSize} blocks. */
    static SourceHashes start(SegmentPipeline pipeline, DiskImage source, long length, int blockSize) {
        SourceHashes hashes = new SourceHashes(pipeline, source, length, blockSize);
        hashes.thread.start();
        return hashes;
    }

    private long[] hash(SegmentPipeline pipeline, DiskImage source, long length, int blockSize) throws Exception {
        long[] out = new long[Math.toIntExact((length + blockSize - 1) / blockSize)];
        bytesRead = pipeline.run(source, length, (offset, data, n) -> {
            int first = Math.toIntExact(offset / blockSize);
            for (int pos = 0; pos < n; pos += blockSize) {
                int len = Math.min(blockSize, n - pos);
                out[first + pos / blockSize] = data == null ? ZeroBlocks.hash(len) : StrongHash.of(data, pos, len);
            }
            return Boolean.TRUE;
        }, (offset, n, done) -> {
            if (cancelled) {
                throw new CancellationException("the cycle no longer needs the source's hashes");
            }
        }, done -> { });
        return out;
    }

    /** The source's block hashes, once computed; empty if hashing failed or was cancelled. */
    Optional<long[]> leaves() throws InterruptedException {
        try {
            return Optional.of(leaves.get());
        } catch (java.util.concurrent.ExecutionException e) {
            return Optional.empty();
        }
    }

    /** Bytes of the source read for the hashes (holes are not read). */
    long bytesRead() {
        return bytesRead;
    }

    /** Stops hashing if it still runs, and waits for its thread: the source may be closed after this. */
    @Override
    public void close() throws InterruptedException {
        if (!leaves.isDone()) {
            cancelled = true;
            thread.interrupt(); // ends the pipeline's wait for its next segment
        }
        thread.join();
    }
}
