package dev.standin.agent.replica;

import java.nio.file.Path;
import java.util.List;

/**
 * How to materialise {@code point}: copy the first {@code baseLength} bytes of {@code base} (a
 * clone file, or the replica itself), then apply {@code undos} in list order, newest first.
 *
 * @param baseIsDevice true when the base is a block device replica (no holes to look for, no clone)
 */
public record RestorePlan(Point point, Path base, long baseLength, boolean baseIsDevice, List<Undo> undos) {

    public RestorePlan {
        undos = List.copyOf(undos);
    }

    /** Undo data of {@code point}: turns the next point's image (of {@code lengthAfter} bytes) into its own. */
    public record Undo(Point point, Path file, long lengthAfter) {}

    /** The longest image along the way: a device target must hold it. */
    long largestLength() {
        long max = Math.max(baseLength, point.length());
        for (Undo u : undos) {
            max = Math.max(max, u.point().length());
        }
        return max;
    }
}
