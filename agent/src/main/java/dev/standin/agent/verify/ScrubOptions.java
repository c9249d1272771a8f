package dev.standin.agent.verify;

import dev.standin.agent.sync.SyncOptions;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How a scrub reads the replica. The defaults are those of {@code standin sync}: the replica is read
 * in the idle I/O class and its pages are dropped behind the reader, so that a scrub of a large
 * replica neither slows the guests' I/O nor evicts their page cache.
 *
 * @param stateDirectory where journals of block device replicas live (recovered before the scrub)
 */
public record ScrubOptions(int threads, int segmentSize, boolean idleIo, boolean dropCache, boolean useNative,
        Path stateDirectory) {

    public ScrubOptions {
        Objects.requireNonNull(stateDirectory, "stateDirectory");
        if (threads < 1) {
            throw new IllegalArgumentException("threads (" + threads + ") must be at least 1");
        }
        if (segmentSize < 4096 || Integer.bitCount(segmentSize) != 1) {
            throw new IllegalArgumentException("segment size (" + segmentSize + ") must be a power of two of at least 4 KiB");
        }
    }

    public static ScrubOptions defaults() {
        return new ScrubOptions(Runtime.getRuntime().availableProcessors(), SyncOptions.DEFAULT_SEGMENT_SIZE, true, true,
                true, Path.of("/var/lib/standin"));
    }

    public ScrubOptions withThreads(int value) {
        return new ScrubOptions(value, segmentSize, idleIo, dropCache, useNative, stateDirectory);
    }

    public ScrubOptions withIdleIo(boolean value) {
        return new ScrubOptions(threads, segmentSize, value, dropCache, useNative, stateDirectory);
    }

    public ScrubOptions withDropCache(boolean value) {
        return new ScrubOptions(threads, segmentSize, idleIo, value, useNative, stateDirectory);
    }

    public ScrubOptions withStateDirectory(Path value) {
        return new ScrubOptions(threads, segmentSize, idleIo, dropCache, useNative, value);
    }
}
