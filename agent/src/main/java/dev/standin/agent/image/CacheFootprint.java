package dev.standin.agent.image;

import dev.standin.nativeio.Advice;
import dev.standin.nativeio.NativeFile;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pages of an image this process brought into the page cache, so that dropping them after a
 * scan leaves alone what was cached already. A VM whose disk QEMU opens with the host's page cache
 * (cache=writeback, its default) keeps its hot data there; dropping every page a scan read threw
 * that away at every cycle, while a cold image's pages (cache=none) are still all dropped.
 *
 * <p>The image is looked at in regions of {@link #REGION}: before its first read, which pages of
 * a region are cached (a mapping of it asked with mincore, {@link NativeIo#residentPages}; nothing
 * is read or faulted in). The region
 * after it is looked at then too, before the kernel's readahead from this one can reach into it.
 * Only the runs of pages that were not cached are ever dropped. A region whose cached pages are
 * split into more than {@link #MAX_RUNS} runs is dropped whole, as all pages were before.
 */
final class CacheFootprint {

    static final long REGION = 64L << 20;
    static final int MAX_RUNS = 256;

    private final FileChannel channel;
    private final NativeIo io;
    private final NativeFile file;
    private final long length;
    /** Per region: byte ranges [start, end) pairs, absolute, that this process may drop. */
    private final ConcurrentHashMap<Long, long[]> droppable = new ConcurrentHashMap<>();

    CacheFootprint(FileChannel channel, NativeIo io, NativeFile file, long length) {
        this.channel = channel;
        this.io = io;
        this.file = file;
        this.length = length;
    }

    /** Notes what is cached of the regions {@code [offset, offset + n)} touches, and the next, unless known. */
    void beforeReading(long offset, long n) {
        long last = Math.min(length - 1, offset + n - 1) / REGION + 1;
        for (long region = offset / REGION; region <= last && region * REGION < length; region++) {
            droppable.computeIfAbsent(region, this::look);
        }
    }

    /** Drops the pages of {@code [offset, offset + n)} that this process brought into the cache. */
    void drop(long offset, long n) throws IOException {
        long end = Math.min(length, offset + n);
        for (long region = offset / REGION; region * REGION < end; region++) {
            long[] runs = droppable.get(region);
            if (runs == null) {
                continue; // never read here: nothing of ours to drop
            }
            for (int i = 0; i < runs.length; i += 2) {
                long from = Math.max(offset, runs[i]);
                long to = Math.min(end, runs[i + 1]);
                if (from < to) {
                    file.fadvise(from, to - from, Advice.DONTNEED);
                }
            }
        }
    }

    private long[] look(long region) {
        long from = region * REGION;
        long n = Math.min(REGION, length - from);
        BitSet cached;
        try {
            MappedByteBuffer mapping = channel.map(FileChannel.MapMode.READ_ONLY, from, n);
            try {
                cached = io.residentPages(mapping);
            } finally {
                Mappings.unmap(mapping);
            }
        } catch (IOException | RuntimeException e) {
            return new long[] {from, from + n}; // cannot tell: drop it all, as before
        }
        long page = io.pageSize();
        long pages = (n + page - 1) / page;
        long[] runs = new long[8];
        int count = 0;
        for (int p = cached.nextClearBit(0); p < pages; ) {
            int q = (int) Math.min(pages, cached.nextSetBit(p) < 0 ? pages : cached.nextSetBit(p));
            if (count == 2 * MAX_RUNS) {
                return new long[] {from, from + n};
            }
            if (count == runs.length) {
                runs = Arrays.copyOf(runs, count * 2);
            }
            runs[count++] = from + p * page;
            runs[count++] = Math.min(from + n, from + q * page);
            p = cached.nextClearBit(q);
        }
        return Arrays.copyOf(runs, count);
    }
}
