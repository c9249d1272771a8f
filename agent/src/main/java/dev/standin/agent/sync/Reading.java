package dev.standin.agent.sync;

import dev.standin.nativeio.NativeIo;
import java.util.Optional;

/**
 * How a cycle reads its images, source and replica alike: segment size, threads, idle I/O
 * priority and, for {@code --bwlimit} without a wire, one rate limit both sides draw from.
 */
public record Reading(int segmentSize, int threads, boolean idleIo, Optional<NativeIo> io,
        Optional<RateLimiter> limit) {

    public static Reading of(SyncOptions options) {
        return new Reading(options.segmentSize(), options.threads(), options.idleIo(),
                options.useNative() ? NativeIo.tryLoad() : Optional.empty(),
                options.readBytesPerSecond() > 0 ? Optional.of(new RateLimiter(options.readBytesPerSecond()))
                        : Optional.empty());
    }

    /** A receiver's reading: default segments, at idle priority (the host's guests come first). */
    public static Reading receiving(int threads, Optional<NativeIo> io) {
        return new Reading(SyncOptions.DEFAULT_SEGMENT_SIZE, threads, true, io, Optional.empty());
    }

    /** A pipeline for blocks of {@code blockSize}: segments are never smaller than a block. */
    public SegmentPipeline pipeline(int blockSize) {
        SegmentPipeline pipeline = new SegmentPipeline(Math.max(segmentSize, blockSize), threads, idleIo, io);
        return limit.map(pipeline::limitingReads).orElse(pipeline);
    }
}
