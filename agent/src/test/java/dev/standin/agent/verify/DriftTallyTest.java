package dev.standin.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Drifted blocks become coalesced ranges; the list is capped, the counts are not. */
class DriftTallyTest {

    @Test
    void adjacentBlocksCoalesceAndGapsSplit() {
        DriftTally tally = new DriftTally();
        tally.add(0, 4096);
        tally.add(4096, 4096);
        tally.add(16384, 4096);
        tally.add(20480, 1234); // a short last block
        assertEquals(List.of(new ScrubReport.Range(0, 8192), new ScrubReport.Range(16384, 5330)), tally.ranges());
        assertEquals(4, tally.blocks());
        assertEquals(3 * 4096 + 1234, tally.bytes());
        assertEquals(0, tally.rangesOmitted());
    }

    @Test
    void rangesBeyondTheCapAreCountedNotListed() {
        DriftTally tally = new DriftTally();
        for (int i = 0; i < DriftTally.MAX_RANGES + 36; i++) {
            tally.add(i * 8192L, 4096);
        }
        assertEquals(DriftTally.MAX_RANGES, tally.ranges().size());
        assertEquals(36, tally.rangesOmitted());
        assertEquals(DriftTally.MAX_RANGES + 36, tally.blocks());
        assertEquals(new ScrubReport.Range((DriftTally.MAX_RANGES - 1) * 8192L, 4096), tally.ranges().get(DriftTally.MAX_RANGES - 1));
    }

    @Test
    void blocksOutOfOrderAreRefused() {
        DriftTally tally = new DriftTally();
        tally.add(8192, 4096);
        assertThrows(IllegalArgumentException.class, () -> tally.add(4096, 4096));
    }

    @Test
    void nothingDriftedIsNoRange() {
        DriftTally tally = new DriftTally();
        assertEquals(List.of(), tally.ranges());
        assertEquals(0, tally.blocks());
    }
}
