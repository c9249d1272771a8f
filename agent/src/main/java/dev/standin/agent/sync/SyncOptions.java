package dev.standin.agent.sync;

import dev.standin.delta.BlockSize;
import dev.standin.delta.MoveSearch;
import dev.standin.delta.stream.Compression;
import dev.standin.snapshot.nbd.NbdExport;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What one {@code standin sync} run is asked to do. Immutable; built and checked by {@link Builder}.
 *
 * @param blockSize 0 to choose by {@link BlockSize}'s rule
 * @param readBytesPerSecond the most a local cycle reads per second, source and replica together
 *                           ({@code --bwlimit} without a wire); 0 for no limit
 * @param sourceExport set when the source is read through an NBD export (a snapshot's view of a
 *                     qcow2 drive) instead of as the file {@code source} names
 */
public record SyncOptions(
        Path source,
        Path destination,
        int blockSize,
        Compression compression,
        boolean dryRun,
        boolean dropCache,
        boolean idleIo,
        boolean useNative,
        int threads,
        int segmentSize,
        Path stateDirectory,
        int keepPoints,
        MoveSearch moveSearch,
        long readBytesPerSecond,
        Optional<NbdExport> sourceExport) {

    /** Recovery points kept by default: as many as Hyper-V Replica keeps (24, hourly for a day). */
    public static final int DEFAULT_KEEP_POINTS = 24;

    /**
     * Unit of reading and matching, raised to the block size when blocks are larger. Small enough
     * to stay in a core's cache between the read and the hash (see SegmentPipeline); a match never
     * straddles two segments, which costs at most one block of literal per segment for data that
     * moved by a few bytes.
     */
    public static final int DEFAULT_SEGMENT_SIZE = 256 << 10;

    public SyncOptions {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(compression, "compression");
        Objects.requireNonNull(stateDirectory, "stateDirectory");
        Objects.requireNonNull(moveSearch, "moveSearch");
        Objects.requireNonNull(sourceExport, "sourceExport");
        if (blockSize != 0) {
            BlockSize.validate(blockSize);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads (" + threads + ") must be at least 1");
        }
        if (segmentSize < BlockSize.MIN || Integer.bitCount(segmentSize) != 1) {
            throw new IllegalArgumentException("segment size (" + segmentSize + ") must be a power of two of at least 4 KiB");
        }
        if (keepPoints < 0) {
            throw new IllegalArgumentException("points to keep (" + keepPoints + ") must be 0 or more");
        }
        if (readBytesPerSecond < 0) {
            throw new IllegalArgumentException("read limit (" + readBytesPerSecond + " bytes/s) must be 0 or more");
        }
    }

    /**
     * The same options reading another source (a snapshot's view of it, through {@code export} if
     * present) in segments of {@code segments} bytes.
     */
    public SyncOptions withSource(Path view, Optional<NbdExport> export, int segments) {
        return new SyncOptions(view, destination, blockSize, compression, dryRun, dropCache, idleIo, useNative, threads,
                segments, stateDirectory, keepPoints, moveSearch, readBytesPerSecond, export);
    }

    /** The same options with another block size. */
    public SyncOptions withBlockSize(int value) {
        return new SyncOptions(source, destination, value, compression, dryRun, dropCache, idleIo, useNative, threads,
                segmentSize, stateDirectory, keepPoints, moveSearch, readBytesPerSecond, sourceExport);
    }

    public static Builder builder(Path source, Path destination) {
        return new Builder(source, destination);
    }

    /** Defaults: automatic block size, no compression (a local copy has no wire), cache and I/O courtesy on. */
    public static final class Builder {
        private final Path source;
        private final Path destination;
        private int blockSize;
        private Compression compression = Compression.NONE;
        private boolean dryRun;
        private boolean dropCache = true;
        private boolean idleIo = true;
        private boolean useNative = true;
        private int threads = Runtime.getRuntime().availableProcessors();
        private int segmentSize = DEFAULT_SEGMENT_SIZE;
        private Path stateDirectory = Path.of("/var/lib/standin");
        private int keepPoints = DEFAULT_KEEP_POINTS;
        private MoveSearch moveSearch = MoveSearch.SECTOR;
        private long readBytesPerSecond;

        private Builder(Path source, Path destination) {
            this.source = source;
            this.destination = destination;
        }

        public Builder blockSize(int value) {
            blockSize = value;
            return this;
        }

        public Builder compression(Compression value) {
            compression = value;
            return this;
        }

        public Builder dryRun(boolean value) {
            dryRun = value;
            return this;
        }

        public Builder dropCache(boolean value) {
            dropCache = value;
            return this;
        }

        public Builder idleIo(boolean value) {
            idleIo = value;
            return this;
        }

        public Builder useNative(boolean value) {
            useNative = value;
            return this;
        }

        public Builder threads(int value) {
            threads = value;
            return this;
        }

        public Builder segmentSize(int value) {
            segmentSize = value;
            return this;
        }

        public Builder stateDirectory(Path value) {
            stateDirectory = value;
            return this;
        }

        public Builder keepPoints(int value) {
            keepPoints = value;
            return this;
        }

        public Builder moveSearch(MoveSearch value) {
            moveSearch = value;
            return this;
        }

        public Builder readBytesPerSecond(long value) {
            readBytesPerSecond = value;
            return this;
        }

        public SyncOptions build() {
            return new SyncOptions(source, destination, blockSize, compression, dryRun, dropCache, idleIo, useNative,
                    threads, segmentSize, stateDirectory, keepPoints, moveSearch, readBytesPerSecond, Optional.empty());
        }
    }
}
