package dev.standin.agent.sync;

import dev.standin.agent.image.DiskImage;
import dev.standin.agent.image.Mappings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Read-only mappings of a regular-file image in fixed windows, shared by a scan's workers.
 * Hashing a mapped page reads the page cache itself; {@code pread} first copies every byte into a
 * buffer, and that copy was a quarter of a warm 4 GiB incremental cycle's CPU time (perf:
 * {@code _copy_to_iter}, 0.4 CPU-s of 1.6).
 *
 * <p>Windows are unmapped explicitly, by the consumer once it has passed them, rather than left
 * to the garbage collector: mapped memory does not count against the heap, so a scan of a 2 TiB
 * image could hold 32768 windows before a collection. A view of a window must therefore never be
 * used after the consumer has passed its segment (the pipeline's contract for results already).
 */
final class MappedWindows implements AutoCloseable {

    private static final long WINDOW = 64 << 20;

    private final DiskImage image;
    private final long length;
    private final long windowSize;
    private final ConcurrentHashMap<Long, MappedByteBuffer> windows = new ConcurrentHashMap<>();

    /** {@code segmentSize} must divide the window, so that no segment straddles two. */
    private MappedWindows(DiskImage image, long length, int segmentSize) {
        this.image = image;
        this.length = length;
        this.windowSize = Math.max(1, WINDOW / segmentSize) * segmentSize;
    }

    /**
     * Mappings of {@code image}, if it can be read through them: a regular file on a filesystem
     * that maps (a test mapping of its first page succeeds; some FUSE and network filesystems
     * refuse), with a way to unmap. Otherwise empty, and the image is read with {@code pread}.
     */
    static Optional<MappedWindows> of(DiskImage image, long length, int segmentSize) {
        if (!image.isRegularFile() || !Mappings.canUnmap() || length == 0) {
            return Optional.empty();
        }
        try {
            Mappings.unmap(image.channel().map(FileChannel.MapMode.READ_ONLY, 0, Math.min(length, 4096)));
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
        return Optional.of(new MappedWindows(image, length, segmentSize));
    }

    /** A view of {@code [offset, offset + n)}, which must lie in one window. */
    ByteBuffer segment(long offset, int n) throws IOException {
        long index = offset / windowSize;
        MappedByteBuffer window;
        try {
            window = windows.computeIfAbsent(index, this::map);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return window.slice((int) (offset - index * windowSize), n);
    }

    /** The window index of a segment that ends at {@code end}, if that is its window's last; else -1. */
    long windowEndingAt(long end) {
        return end % windowSize == 0 || end == length ? (end - 1) / windowSize : -1;
    }

    /** Unmaps window {@code index} (the consumer is past it) and lets the cache drop its pages. */
    void release(long index) throws IOException {
        MappedByteBuffer window = windows.remove(index);
        if (window != null) {
            Mappings.unmap(window);
            long from = index * windowSize;
            image.doneWith(from, Math.min(windowSize, length - from));
        }
    }

    /**
     * Converts a fault on a mapped page into an I/O error: the file shrank under the mapping, or
     * reading the page failed (the JVM reports both as an InternalError, as SIGBUS).
     */
    IOException fault(long offset, InternalError fault) {
        return new IOException(image.path() + " could not be read near " + offset
                + " (did it shrink during the cycle, or did the disk fail?): " + fault.getMessage(), fault);
    }

    /** As above, when the JVM reported the fault only after the access, away from its segment. */
    IOException fault(InternalError fault) {
        return new IOException(image.path() + " could not be read (did it shrink during the cycle, or did the disk "
                + "fail?): " + fault.getMessage(), fault);
    }

    private MappedByteBuffer map(long index) {
        long from = index * windowSize;
        long size = Math.min(windowSize, length - from);
        try {
            if (from + size > image.channel().size()) {
                throw new IOException(image.path() + " ended at " + image.channel().size() + " while reading at " + from
                        + " (did it shrink during the cycle?)");
            }
            return image.channel().map(FileChannel.MapMode.READ_ONLY, from, size);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Unmaps what is left; only once no worker can touch a window again. */
    @Override
    public void close() {
        windows.values().forEach(Mappings::unmap);
        windows.clear();
    }
}
