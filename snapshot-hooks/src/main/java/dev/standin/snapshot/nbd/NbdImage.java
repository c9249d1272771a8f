package dev.standin.snapshot.nbd;

import dev.standin.nativeio.Extent;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A read-only NBD export read as a disk image by several threads: a pool of up to
 * {@code connections} connections (QEMU serves each in its own coroutine, so reads proceed in
 * parallel), and the export's data extents taken from {@code base:allocation} once when it opens:
 * the view is frozen, so the map stays true, and a scan asks it per segment without a round trip.
 * Extents the server reports as reading zeros are holes: nothing is read there.
 */
public final class NbdImage implements AutoCloseable {

    private final NbdExport export;
    private final Duration timeout;
    private final int connections;
    private final long size;
    private final long[] dataStarts;
    private final long[] dataEnds;
    private final LinkedBlockingQueue<NbdConnection> idle = new LinkedBlockingQueue<>();
    private final List<NbdConnection> all = new ArrayList<>();
    private boolean closed;

    private NbdImage(NbdExport export, Duration timeout, int connections, NbdConnection first, List<Extent> data) {
        this.export = export;
        this.timeout = timeout;
        this.connections = connections;
        this.size = first.size();
        this.dataStarts = data.stream().mapToLong(Extent::offset).toArray();
        this.dataEnds = data.stream().mapToLong(Extent::end).toArray();
        all.add(first);
        idle.add(first);
    }

    public static NbdImage open(NbdExport export, int connections, Duration timeout) throws IOException {
        NbdConnection first = NbdConnection.open(export, List.of(NbdConnection.ALLOCATION), timeout);
        try {
            List<Extent> data = first.extents(NbdConnection.ALLOCATION, flags -> (flags & NbdConnection.STATE_ZERO) == 0);
            return new NbdImage(export, timeout, Math.max(1, connections), first, data);
        } catch (IOException | RuntimeException e) {
            first.close();
            throw e;
        }
    }

    /**
     * The extents of {@code export} that {@code bitmap} (exported with it by QEMU) marks as written
     * since the bitmap began.
     */
    public static List<Extent> dirtyExtents(NbdExport export, String bitmap, Duration timeout) throws IOException {
        String context = NbdConnection.DIRTY_BITMAP + bitmap;
        try (NbdConnection connection = NbdConnection.open(export, List.of(context), timeout)) {
            return connection.extents(context, flags -> (flags & NbdConnection.STATE_DIRTY) != 0);
        }
    }

    public NbdExport export() {
        return export;
    }

    public long size() {
        return size;
    }

    /** The bytes to read in {@code [from, to)}, in order; holes and zeros read as zeros without asking. */
    public List<Extent> dataExtents(long from, long to) {
        List<Extent> result = new ArrayList<>();
        int i = firstEndingAfter(from);
        for (; i < dataStarts.length && dataStarts[i] < to; i++) {
            long start = Math.max(dataStarts[i], from);
            long end = Math.min(dataEnds[i], to);
            if (end > start) {
                result.add(new Extent(start, end - start));
            }
        }
        return result;
    }

    private int firstEndingAfter(long offset) {
        int low = 0;
        int high = dataEnds.length;
        while (low < high) {
            int middle = (low + high) >>> 1;
            if (dataEnds[middle] <= offset) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        return low;
    }

    /** Fills {@code dst}'s remaining bytes from {@code offset}, over any idle connection. */
    public void readFully(long offset, ByteBuffer dst) throws IOException {
        NbdConnection connection = borrow();
        boolean healthy = false;
        try {
            connection.read(offset, dst);
            healthy = true;
        } finally {
            giveBack(connection, healthy);
        }
    }

    private NbdConnection borrow() throws IOException {
        NbdConnection connection = idle.poll();
        if (connection != null) {
            return connection;
        }
        synchronized (this) {
            if (closed) {
                throw new NbdException(export + " is closed");
            }
            if (all.size() < connections) {
                NbdConnection fresh = NbdConnection.open(export, List.of(), timeout);
                all.add(fresh);
                return fresh;
            }
        }
        try {
            return idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a connection to " + export);
        }
    }

    /** A connection that failed mid-request is closed and forgotten: its stream's position is unknown. */
    private void giveBack(NbdConnection connection, boolean healthy) {
        if (healthy) {
            idle.add(connection);
            return;
        }
        connection.close();
        synchronized (this) {
            all.remove(connection);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (NbdConnection connection : all) {
            connection.close();
        }
        all.clear();
        idle.clear();
    }
}
