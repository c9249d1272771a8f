package dev.standin.snapshot;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Byte ranges of a disk that may have changed since the last replicated view, sorted, disjoint and
 * merged. Anything outside them is guaranteed unchanged, so a cycle need not read it.
 */
public final class ChangedExtents {

    /** Start offsets and ends, parallel and sorted: binary search answers "does [a, b) touch a change?". */
    private final long[] starts;
    private final long[] ends;
    private final long diskSize;

    private ChangedExtents(long[] starts, long[] ends, long diskSize) {
        this.starts = starts;
        this.ends = ends;
        this.diskSize = diskSize;
    }

    /** A builder that accepts ranges in any order and merges overlapping or touching ones. */
    public static Builder builder(long diskSize) {
        return new Builder(diskSize);
    }

    public long diskSize() {
        return diskSize;
    }

    public int count() {
        return starts.length;
    }

    public long start(int i) {
        return starts[i];
    }

    public long end(int i) {
        return ends[i];
    }

    /** The bytes covered by the extents. */
    public long bytes() {
        long total = 0;
        for (int i = 0; i < starts.length; i++) {
            total += ends[i] - starts[i];
        }
        return total;
    }

    /** True if {@code [offset, offset + length)} overlaps a changed extent. */
    public boolean touches(long offset, long length) {
        long end = offset + length;
        // The last extent starting before `end` is the only one that can overlap, since they are disjoint.
        int i = Arrays.binarySearch(starts, end);
        int candidate = i >= 0 ? i - 1 : -i - 2;
        return candidate >= 0 && ends[candidate] > offset;
    }

    @Override
    public String toString() {
        return starts.length + " extents, " + bytes() + " bytes of " + diskSize;
    }

    public static final class Builder {
        private final long diskSize;
        private final List<long[]> ranges = new ArrayList<>();

        private Builder(long diskSize) {
            if (diskSize < 0) {
                throw new IllegalArgumentException("disk size (" + diskSize + ") must not be negative");
            }
            this.diskSize = diskSize;
        }

        public Builder add(long offset, long length) {
            if (offset < 0 || length < 0 || offset + length > diskSize) {
                throw new IllegalArgumentException("extent [" + offset + ", +" + length + ") lies outside a disk of "
                        + diskSize + " bytes");
            }
            if (length > 0) {
                ranges.add(new long[] {offset, offset + length});
            }
            return this;
        }

        public ChangedExtents build() {
            ranges.sort((a, b) -> Long.compare(a[0], b[0]));
            List<long[]> merged = new ArrayList<>();
            for (long[] r : ranges) {
                long[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
                if (last != null && r[0] <= last[1]) {
                    last[1] = Math.max(last[1], r[1]);
                } else {
                    merged.add(new long[] {r[0], r[1]});
                }
            }
            long[] starts = new long[merged.size()];
            long[] ends = new long[merged.size()];
            for (int i = 0; i < starts.length; i++) {
                starts[i] = merged.get(i)[0];
                ends[i] = merged.get(i)[1];
            }
            return new ChangedExtents(starts, ends, diskSize);
        }
    }
}
