package dev.standin.agent.sync;

import dev.standin.agent.image.DiskImage;
import dev.standin.delta.BlockSize;
import dev.standin.delta.ZeroBlocks;
import dev.standin.nativeio.Extent;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Reads an image in segments on several threads and hands the results back in image order. Files
 * and devices alike are read with {@code pread}: each worker reads a segment into its own small
 * buffer and processes it at once, while the data is still in that core's cache (reading 2 GiB
 * from the page cache into 4 MiB buffers took 1.0 s here, into a reused 256 KiB buffer 0.17 s).
 * Files are not mapped: the hash must copy a mapped block out of the mapping anyway (a fault inside
 * libxxhash would kill the JVM, see {@code NativeXxh3}), so a mapping only adds its page faults
 * (bench/README, "Seeding").
 *
 * <p>Memory is bounded whatever the image size: at most {@code 5 × threads + 4} segment buffers,
 * one per worker plus one per result waiting for the consumer (a result may view its buffer).
 * Segments that lie wholly in a hole of a sparse image are not read; inside a segment only the
 * allocated extents are.
 */
public final class SegmentPipeline {

    /**
     * Works on one segment; {@code data} is null for a segment known to be all zero. {@code data}
     * stays valid until the sink has consumed the result, so results may view it.
     */
    public interface Task<R> {
        R process(long offset, ByteBuffer data, int length) throws Exception;
    }

    /**
     * Segments that need not be read at all (change tracking says they are unchanged) and their
     * results. Asked before a segment is read.
     */
    public interface Unread<R> {
        boolean covers(long offset, int length);

        R result(long offset, int length);
    }

    /** Consumes results in image order. */
    public interface Sink<R> {
        void accept(long offset, int length, R result) throws Exception;
    }

    /**
     * Pages are dropped from the cache this far behind the read position. Dropping a segment right
     * after reading it left 2 GiB of a 2 GiB image cached (fincore): freshly read pages sit in
     * per-CPU LRU batches that POSIX_FADV_DONTNEED does not drain, and 256 KiB is only 64 pages.
     */
    private static final long DROP_LAG = 8 << 20;
    /** How long a worker may take to end once the pass is over: it has at most one segment left to give up. */
    private static final long WORKER_PATIENCE_MILLIS = 1000;
    private final int segmentSize;
    private final int threads;
    private final boolean idleIo;
    private final Optional<NativeIo> io;
    /** Bytes read pass through it when a local cycle has a --bwlimit; null: no limit. */
    private final RateLimiter readLimit;

    public SegmentPipeline(int segmentSize, int threads, boolean idleIo, Optional<NativeIo> io) {
        this(segmentSize, threads, idleIo, io, null);
    }

    /** This pipeline, reading at most {@code limit}'s rate (shared with whoever else holds it). */
    public SegmentPipeline limitingReads(RateLimiter limit) {
        return new SegmentPipeline(segmentSize, threads, idleIo, io, limit);
    }

    private SegmentPipeline(int segmentSize, int threads, boolean idleIo, Optional<NativeIo> io,
            RateLimiter readLimit) {
        if (segmentSize <= 0 || segmentSize % BlockSize.MIN != 0 || threads <= 0) {
            throw new IllegalArgumentException("segment size (" + segmentSize + ") must be a positive multiple of "
                    + BlockSize.MIN + " and threads (" + threads + ") positive");
        }
        this.segmentSize = segmentSize;
        this.threads = threads;
        this.idleIo = idleIo;
        this.io = io;
        this.readLimit = readLimit;
    }

    /**
     * Runs {@code task} over {@code [0, length)} of {@code image} and feeds the results to
     * {@code sink} in order on the calling thread. {@code progress} receives bytes done. Returns the
     * bytes actually read (holes are not).
     */
    public <R> long run(DiskImage image, long length, Task<R> task, Sink<R> sink, LongConsumer progress)
            throws Exception {
        return run(image, length, task, sink, progress, null);
    }

    /** As above; segments {@code unread} covers are not read and take its result (null: read all). */
    public <R> long run(DiskImage image, long length, Task<R> task, Sink<R> sink, LongConsumer progress,
            Unread<R> unread) throws Exception {
        long segments = (length + segmentSize - 1) / segmentSize;
        int window = 4 * threads + 4;
        Semaphore slots = new Semaphore(window);
        AtomicLong next = new AtomicLong();
        AtomicLong bytesRead = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentHashMap<Long, CompletableFuture<Done<R>>> results = new ConcurrentHashMap<>();
        BlockingQueue<ByteBuffer> buffers = new ArrayBlockingQueue<>(window + threads);
        for (int i = 0; i < window + threads; i++) {
            buffers.add(ByteBuffer.allocateDirect(segmentSize));
        }
        // A failure no segment's result carries (a worker that died between segments); the
        // consumer checks it before every segment.
        AtomicReference<Throwable> died = new AtomicReference<>();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = new Thread(() -> {
                try {
                    work(image, length, segments, task, unread, slots, next, bytesRead, stop, results,
                            buffers, died);
                } catch (Throwable e) {
                    died.compareAndSet(null, e);
                    stop.set(true);
                    results.values().forEach(r -> r.completeExceptionally(died.get()));
                }
            }, "standin-scan-" + (t + 1));
            workers[t].setDaemon(true);
            workers[t].start();
        }
        try {
            for (long index = 0; index < segments; index++) {
                CompletableFuture<Done<R>> result = results.computeIfAbsent(index, i -> new CompletableFuture<>());
                if (died.get() != null) {
                    throw asException(died.get());
                }
                Done<R> done = await(result, died, workers, index);
                results.remove(index);
                long offset = index * segmentSize;
                int n = (int) Math.min(segmentSize, length - offset);
                try {
                    sink.accept(offset, n, done.value());
                } finally {
                    if (done.buffer() != null) {
                        buffers.add(done.buffer());
                    }
                }
                slots.release();
                progress.accept(offset + n);
            }
            if (died.get() != null) {
                throw asException(died.get());
            }
            image.doneWith(0, length);
            return bytesRead.get();
        } finally {
            stop.set(true);
            slots.release(window + threads);
            endWorkers(workers);
        }
    }

    /**
     * Waits for the workers to end, which the released slots let them do; a worker still inside a
     * slow read (an NBD view that stopped answering) is interrupted, and the cycle does not wait
     * for it longer than that.
     */
    private static void endWorkers(Thread[] workers) throws InterruptedException {
        for (Thread worker : workers) {
            worker.join(WORKER_PATIENCE_MILLIS);
            if (worker.isAlive()) {
                worker.interrupt();
                worker.join(5 * WORKER_PATIENCE_MILLIS);
            }
        }
    }

    /** A segment's result and the buffer it may view, returned to the pool once consumed. */
    private record Done<R>(R value, ByteBuffer buffer) {}

    private <R> void work(DiskImage image, long length, long segments, Task<R> task, Unread<R> unread,
            Semaphore slots, AtomicLong next, AtomicLong bytesRead, AtomicBoolean stop,
            ConcurrentHashMap<Long, CompletableFuture<Done<R>>> results, BlockingQueue<ByteBuffer> buffers,
            AtomicReference<Throwable> died) {
        if (idleIo && io.isPresent()) {
            try {
                io.get().ioprioIdleForCurrentThread();
            } catch (IOException e) {
                // Only a courtesy to the guests: without it the scan still works.
            }
        }
        while (!stop.get()) {
            try {
                slots.acquire();
            } catch (InterruptedException e) {
                return;
            }
            long index = next.getAndIncrement();
            if (index >= segments) {
                return;
            }
            CompletableFuture<Done<R>> result = results.computeIfAbsent(index, i -> new CompletableFuture<>());
            if (stop.get()) {
                // Claimed, so the consumer may wait for it: it must end, as the scan does.
                result.completeExceptionally(died.get() != null ? died.get()
                        : new IOException("the scan stopped before segment " + index));
                return;
            }
            long offset = index * segmentSize;
            int n = (int) Math.min(segmentSize, length - offset);
            ByteBuffer buffer = null;
            try {
                if (unread != null && unread.covers(offset, n)) {
                    result.complete(new Done<>(unread.result(offset, n), null));
                    continue;
                }
                List<Extent> extents = image.dataExtents(offset, offset + n);
                if (!extents.isEmpty()) {
                    if (readLimit != null) {
                        readLimit.acquire(allocated(offset, n, extents)); // holes cost the disk nothing
                    }
                    image.beforeReading(offset, n);
                }
                if (extents.isEmpty()) {
                    result.complete(new Done<>(task.process(offset, null, n), null));
                } else {
                    // Never blocks for long: the window bounds the buffers in use below the pool size.
                    buffer = buffers.take();
                    bytesRead.addAndGet(readExtents(image, offset, n, extents, buffer));
                    if (offset >= DROP_LAG) {
                        image.doneWith(offset - DROP_LAG, n);
                    }
                    buffer.flip();
                    result.complete(new Done<>(task.process(offset, buffer, n), buffer));
                }
            } catch (Throwable e) {
                if (buffer != null) {
                    buffers.add(buffer);
                }
                if (!result.completeExceptionally(e)) {
                    died.compareAndSet(null, e); // this segment had finished: the failure came after it
                }
                stop.set(true);
                return;
            }
        }
    }

    /** The bytes of {@code extents} that lie in {@code [offset, offset + n)}. */
    private static long allocated(long offset, int n, List<Extent> extents) {
        long total = 0;
        for (Extent extent : extents) {
            total += Math.max(0, Math.min(extent.end(), offset + n) - Math.max(extent.offset(), offset));
        }
        return total;
    }

    /** Reads the allocated extents of a segment and fills the holes between them with zeros. */
    private static long readExtents(DiskImage image, long offset, int n, List<Extent> extents, ByteBuffer buffer)
            throws IOException {
        buffer.clear().limit(n);
        int filled = 0;
        long read = 0;
        for (Extent extent : extents) {
            int from = (int) (Math.max(extent.offset(), offset) - offset);
            int to = (int) (Math.min(extent.end(), offset + n) - offset);
            if (to <= from) {
                continue;
            }
            zero(buffer, filled, from);
            image.readFully(offset + from, buffer.duplicate().position(from).limit(to));
            read += to - from;
            filled = to;
        }
        zero(buffer, filled, n);
        buffer.position(n);
        return read;
    }

    private static void zero(ByteBuffer buffer, int from, int to) {
        while (from < to) {
            int len = Math.min(to - from, BlockSize.MAX);
            buffer.put(from, ZeroBlocks.zeros(len), 0, len);
            from += len;
        }
    }

    /**
     * Waits for a segment's result, looking every 100 ms whether a worker died without completing
     * the segment it took, which must not hang the cycle.
     */
    private static <R> Done<R> await(CompletableFuture<Done<R>> result, AtomicReference<Throwable> died,
            Thread[] workers, long index) throws Exception {
        while (true) {
            try {
                return result.get(100, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw unwrap(e);
            } catch (TimeoutException e) {
                if (died.get() != null) {
                    throw asException(died.get());
                }
                if (!result.isDone() && java.util.Arrays.stream(workers).noneMatch(Thread::isAlive)) {
                    throw new IOException("the scan's workers ended before segment " + index);
                }
            }
        }
    }

    private static Exception asException(Throwable failure) {
        if (failure instanceof Exception e) {
            return e;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        return new IOException(failure);
    }

    private static Exception unwrap(ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof Exception ex) {
            return ex;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        return e;
    }
}
