package dev.standin.agent.sync;

import dev.standin.agent.image.DiskImage;
import dev.standin.nativeio.Extent;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * Reads an image in order, one segment at a time, processes segments on a pool of threads and
 * hands the results back in order. One thread reads (with idle I/O priority), the pool hashes and
 * matches, the caller consumes: on two cores reading and hashing overlap.
 *
 * <p>Memory is bounded by the buffer pool: {@code 2 × threads + 2} direct buffers of one segment
 * each (24 MiB with two threads and 4 MiB segments), whatever the image size. A segment's buffer
 * returns to the pool only after the consumer has seen its result, because results may view it.
 * Segments that lie wholly in a hole of a sparse image are not read at all.
 */
public final class SegmentPipeline implements AutoCloseable {

    /** Works on one segment; {@code data} is null for a segment known to be all zero. */
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
    private final BlockingQueue<ByteBuffer> buffers;
    private final ExecutorService workers;

    public SegmentPipeline(int segmentSize, int threads, boolean idleIo, Optional<NativeIo> io) {
        if (segmentSize <= 0 || threads <= 0) {
            throw new IllegalArgumentException("segment size and threads must be positive");
        }
        this.segmentSize = segmentSize;
        this.threads = threads;
        this.idleIo = idleIo;
        this.io = io;
        int count = 2 * threads + 2;
        this.buffers = new ArrayBlockingQueue<>(count);
        for (int i = 0; i < count; i++) {
            buffers.add(ByteBuffer.allocateDirect(segmentSize));
        }
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "standin-hash-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public int segmentSize() {
        return segmentSize;
    }

    private record Pending<R>(long offset, int length, ByteBuffer buffer, CompletableFuture<R> result) {}

    /**
     * Runs {@code task} over {@code [0, length)} of {@code image} and feeds the results to
     * {@code sink} in order on the calling thread. {@code progress} receives bytes done. Returns the
     * bytes actually read (holes are not).
     */
    public <R> long run(DiskImage image, long length, Task<R> task, Sink<R> sink, LongConsumer progress)
            throws Exception {
        java.util.concurrent.atomic.AtomicLong bytesRead = new java.util.concurrent.atomic.AtomicLong();
        BlockingQueue<Pending<R>> pending = new ArrayBlockingQueue<>(buffers.size() + 1);
        CompletableFuture<Void> reading = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                read(image, length, task, pending, bytesRead);
                reading.complete(null);
            } catch (Throwable e) {
                reading.completeExceptionally(e);
            }
        }, "standin-read");
        reader.setDaemon(true);
        reader.start();
        long done = 0;
        boolean complete = false;
        try {
            while (done < length) {
                Pending<R> next = pending.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (next == null) {
                    if (reading.isCompletedExceptionally()) {
                        reading.get();
                    }
                    continue;
                }
                try {
                    sink.accept(next.offset(), next.length(), unwrap(next.result()));
                } finally {
                    release(next.buffer());
                }
                done += next.length();
                progress.accept(done);
            }
            reading.get();
            complete = true;
            return bytesRead.get();
        } catch (ExecutionException e) {
            throw unwrapCause(e);
        } finally {
            if (!complete) {
                // Interrupting a thread inside FileChannel I/O closes the channel: only on failure.
                reader.interrupt();
            }
            reader.join();
            for (Pending<R> p; (p = pending.poll()) != null; ) {
                p.result().handle((r, e) -> null).join();
                release(p.buffer());
            }
        }
    }

    private <R> void read(DiskImage image, long length, Task<R> task, BlockingQueue<Pending<R>> pending,
            java.util.concurrent.atomic.AtomicLong bytesRead) throws IOException, InterruptedException {
        if (idleIo && io.isPresent()) {
            try {
                io.get().ioprioIdleForCurrentThread();
            } catch (IOException e) {
                // Only a courtesy to the guests: without it the scan still works.
            }
        }
        for (long offset = 0; offset < length; offset += segmentSize) {
            if (Thread.interrupted()) {
                throw new InterruptedIOException("reading " + image.path() + " was cancelled");
            }
            int n = (int) Math.min(segmentSize, length - offset);
            List<Extent> extents = image.dataExtents(offset, offset + n);
            ByteBuffer buffer = null;
            if (!extents.isEmpty()) {
                buffer = buffers.take();
                try {
                    bytesRead.addAndGet(readExtents(image, offset, n, extents, buffer));
                } catch (IOException e) {
                    release(buffer);
                    throw e;
                }
                image.doneWith(offset, n);
                buffer.flip();
            }
            long segmentOffset = offset;
            ByteBuffer data = buffer;
            CompletableFuture<R> result = CompletableFuture.supplyAsync(() -> {
                try {
                    return task.process(segmentOffset, data, n);
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }, workers);
            pending.put(new Pending<>(offset, n, buffer, result));
        }
    }

    /**
     * Reads only the allocated extents of a segment and fills the holes between them with zeros,
     * so a sparse image costs reads in proportion to its data, not to its segments.
     */
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
            int len = Math.min(to - from, dev.standin.delta.BlockSize.MAX);
            buffer.put(from, dev.standin.delta.ZeroBlocks.zeros(len), 0, len);
            from += len;
        }
    }

    private void release(ByteBuffer buffer) {
        if (buffer != null) {
            buffers.add(buffer);
        }
    }

    private static <R> R unwrap(CompletableFuture<R> future) throws Exception {
        try {
            return future.get();
        } catch (ExecutionException e) {
            throw unwrapCause(e);
        }
    }

    private static Exception unwrapCause(ExecutionException e) {
        Throwable cause = e.getCause();
        while ((cause instanceof ExecutionException || cause instanceof java.util.concurrent.CompletionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof Exception ex) {
            return ex;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        return e;
    }

    public int threads() {
        return threads;
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }
}
