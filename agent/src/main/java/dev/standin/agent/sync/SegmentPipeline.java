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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Reads an image in segments on several threads and hands the results back in image order. Each
 * worker reads a segment into its own small buffer and processes it at once, while the data is
 * still in that core's cache: reading 2 GiB from the page cache into 4 MiB buffers took 1.0 s
 * here, into a reused 256 KiB buffer 0.17 s, and a separate reader thread would also move every
 * byte from one core's cache to another's.
 *
 * <p>Memory is bounded: one buffer of one segment per worker, and at most {@code 4 × threads + 4}
 * results waiting for the consumer, whatever the image size. Segments that lie wholly in a hole
 * of a sparse image are not read; inside a segment only the allocated extents are.
 */
public final class SegmentPipeline {

    /**
     * Works on one segment; {@code data} is null for a segment known to be all zero. {@code data}
     * is reused once the call returns: results must not refer to it.
     */
    public interface Task<R> {
        R process(long offset, ByteBuffer data, int length) throws Exception;
    }

    /** Consumes results in image order. */
    public interface Sink<R> {
        void accept(long offset, int length, R result) throws Exception;
    }

    private final int segmentSize;
    private final int threads;
    private final boolean idleIo;
    private final Optional<NativeIo> io;

    public SegmentPipeline(int segmentSize, int threads, boolean idleIo, Optional<NativeIo> io) {
        if (segmentSize <= 0 || segmentSize % BlockSize.MIN != 0 || threads <= 0) {
            throw new IllegalArgumentException("segment size (" + segmentSize + ") must be a positive multiple of "
                    + BlockSize.MIN + " and threads (" + threads + ") positive");
        }
        this.segmentSize = segmentSize;
        this.threads = threads;
        this.idleIo = idleIo;
        this.io = io;
    }

    /**
     * Runs {@code task} over {@code [0, length)} of {@code image} and feeds the results to
     * {@code sink} in order on the calling thread. {@code progress} receives bytes done. Returns the
     * bytes actually read (holes are not).
     */
    public <R> long run(DiskImage image, long length, Task<R> task, Sink<R> sink, LongConsumer progress)
            throws Exception {
        long segments = (length + segmentSize - 1) / segmentSize;
        int window = 4 * threads + 4;
        Semaphore slots = new Semaphore(window);
        AtomicLong next = new AtomicLong();
        AtomicLong bytesRead = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentHashMap<Long, CompletableFuture<R>> results = new ConcurrentHashMap<>();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = new Thread(() -> work(image, length, segments, task, slots, next, bytesRead, stop, results),
                    "standin-scan-" + (t + 1));
            workers[t].setDaemon(true);
            workers[t].start();
        }
        try {
            for (long index = 0; index < segments; index++) {
                CompletableFuture<R> result = results.computeIfAbsent(index, i -> new CompletableFuture<>());
                R value;
                try {
                    value = result.get();
                } catch (ExecutionException e) {
                    throw unwrap(e);
                }
                results.remove(index);
                long offset = index * segmentSize;
                int n = (int) Math.min(segmentSize, length - offset);
                sink.accept(offset, n, value);
                slots.release();
                progress.accept(offset + n);
            }
            return bytesRead.get();
        } finally {
            stop.set(true);
            slots.release(window + threads);
            for (Thread worker : workers) {
                worker.join();
            }
        }
    }

    private <R> void work(DiskImage image, long length, long segments, Task<R> task, Semaphore slots, AtomicLong next,
            AtomicLong bytesRead, AtomicBoolean stop, ConcurrentHashMap<Long, CompletableFuture<R>> results) {
        if (idleIo && io.isPresent()) {
            try {
                io.get().ioprioIdleForCurrentThread();
            } catch (IOException e) {
                // Only a courtesy to the guests: without it the scan still works.
            }
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(segmentSize);
        while (!stop.get()) {
            try {
                slots.acquire();
            } catch (InterruptedException e) {
                return;
            }
            long index = next.getAndIncrement();
            if (stop.get() || index >= segments) {
                return;
            }
            CompletableFuture<R> result = results.computeIfAbsent(index, i -> new CompletableFuture<>());
            long offset = index * segmentSize;
            int n = (int) Math.min(segmentSize, length - offset);
            try {
                List<Extent> extents = image.dataExtents(offset, offset + n);
                if (extents.isEmpty()) {
                    result.complete(task.process(offset, null, n));
                } else {
                    bytesRead.addAndGet(readExtents(image, offset, n, extents, buffer));
                    image.doneWith(offset, n);
                    buffer.flip();
                    result.complete(task.process(offset, buffer, n));
                }
            } catch (Throwable e) {
                result.completeExceptionally(e);
                stop.set(true);
                return;
            }
        }
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
