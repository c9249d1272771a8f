package dev.standin.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ChangedExtentsTest {

    @Test
    void mergesOverlappingAndTouchingRangesInAnyOrder() {
        ChangedExtents e = ChangedExtents.builder(1000).add(500, 100).add(0, 10).add(10, 10).add(550, 100).build();
        assertEquals(2, e.count());
        assertEquals(0, e.start(0));
        assertEquals(20, e.end(0));
        assertEquals(500, e.start(1));
        assertEquals(650, e.end(1));
        assertEquals(170, e.bytes());
    }

    @Test
    void touchesIsExactAtTheEdges() {
        ChangedExtents e = ChangedExtents.builder(1000).add(100, 100).build();
        assertFalse(e.touches(0, 100), "ends where the extent starts");
        assertTrue(e.touches(0, 101));
        assertTrue(e.touches(199, 1));
        assertFalse(e.touches(200, 800), "starts where the extent ends");
        assertTrue(e.touches(150, 1));
        assertFalse(ChangedExtents.builder(10).build().touches(0, 10));
    }

    @Test
    void refusesRangesOutsideTheDisk() {
        assertThrows(IllegalArgumentException.class, () -> ChangedExtents.builder(100).add(90, 11));
        assertThrows(IllegalArgumentException.class, () -> ChangedExtents.builder(100).add(-1, 1));
    }
}
