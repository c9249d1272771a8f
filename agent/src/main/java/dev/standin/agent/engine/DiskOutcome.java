package dev.standin.agent.engine;

import dev.standin.agent.sync.SyncStats;
import dev.standin.agent.verify.ScrubReport;
import dev.standin.failure.StandinException;
import java.util.Optional;

/**
 * How one disk's cycle ended: its statistics (and, for a scrubbing cycle, what the scrub found),
 * or the failure, which says by {@link StandinException#isPermanent()} whether a retry can help.
 */
public record DiskOutcome(String source, Optional<SyncStats> stats, Optional<ScrubReport> scrub,
        Optional<StandinException> failure) {

    static DiskOutcome succeeded(String source, SyncStats stats, Optional<ScrubReport> scrub) {
        return new DiskOutcome(source, Optional.of(stats), scrub, Optional.empty());
    }

    static DiskOutcome failed(String source, StandinException failure) {
        return new DiskOutcome(source, Optional.empty(), Optional.empty(), Optional.of(failure));
    }

    public boolean succeeded() {
        return failure.isEmpty();
    }

    /** The statistics of a cycle that succeeded; the failure of one that did not. */
    public SyncStats orThrow() throws StandinException {
        if (failure.isPresent()) {
            throw failure.get();
        }
        return stats.orElseThrow();
    }
}
