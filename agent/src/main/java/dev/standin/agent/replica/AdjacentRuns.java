package dev.standin.agent.replica;

import java.io.IOException;

/**
 * Gathers byte ranges that follow each other into one run, up to a longest length, and hands each
 * run to its sink when the next range does not continue it, or on {@link #flush}. Journals and undo
 * files hold a block per record, and one call per block was what made replays and captures slow.
 */
final class AdjacentRuns {

    /** Receives each gathered run. */
    @FunctionalInterface
    interface Sink {
        void run(long offset, long length) throws IOException;
    }

    private final long longestRun;
    private final Sink sink;
    private long start = -1;
    private long length;

    AdjacentRuns(long longestRun, Sink sink) {
        this.longestRun = longestRun;
        this.sink = sink;
    }

    void add(long offset, long n) throws IOException {
        if (start >= 0 && start + length == offset && length + n <= longestRun) {
            length += n;
            return;
        }
        flush();
        start = offset;
        length = n;
    }

    /** Hands the run gathered so far, if any, to the sink. */
    void flush() throws IOException {
        if (start < 0) {
            return;
        }
        long offset = start;
        start = -1;
        sink.run(offset, length);
    }
}
