package dev.standin.agent.verify;

import java.util.ArrayList;
import java.util.List;

/**
 * Counts drifted blocks, fed in image order, and coalesces adjacent ones into ranges. Only the
 * first {@link #MAX_RANGES} ranges are kept: a replica that was overwritten wholesale has up to
 * 2^20 drifted blocks, and a report listing them all would be megabytes of JSON; the counts stay
 * exact.
 */
final class DriftTally {

    static final int MAX_RANGES = 64;

    private final List<ScrubReport.Range> ranges = new ArrayList<>();
    private long blocks;
    private long bytes;
    private long omitted;
    private long runStart = -1;
    private long runEnd;

    void add(long offset, long length) {
        if (offset < runEnd) {
            throw new IllegalArgumentException("drift at " + offset + " reported out of order (after " + runEnd + ")");
        }
        if (runStart < 0 || offset != runEnd) {
            closeRun();
            runStart = offset;
        }
        runEnd = offset + length;
        blocks++;
        bytes += length;
    }

    private void closeRun() {
        if (runStart < 0) {
            return;
        }
        if (ranges.size() < MAX_RANGES) {
            ranges.add(new ScrubReport.Range(runStart, runEnd - runStart));
        } else {
            omitted++;
        }
        runStart = -1;
    }

    long blocks() {
        return blocks;
    }

    long bytes() {
        return bytes;
    }

    /** The ranges, once every block has been added. */
    List<ScrubReport.Range> ranges() {
        closeRun();
        return List.copyOf(ranges);
    }

    long rangesOmitted() {
        closeRun();
        return omitted;
    }
}
