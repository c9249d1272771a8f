package dev.standin.snapshot;

import java.nio.file.Path;

/**
 * Makes point-in-time views of one kind of disk. Every implementation MUST:
 * <ul>
 *   <li>record what it is about to make in {@link StaleSnapshots} before making it, and remove the
 *       record only once it is released;
 *   <li>release what it made if {@link #take} fails halfway, and say in the exception which step
 *       failed and what, if anything, could not be released;
 *   <li>never leave a VM frozen, paused or running on a temporary overlay;
 *   <li>be able to release a stale record left by a crashed agent ({@link #releaseStale}).
 * </ul>
 */
public interface SnapshotHook {

    /** The name used in {@code --snapshot KIND:ARGS} and in stale records. */
    String kind();

    /**
     * Freezes a view of the disk. {@code source} is what the user named as SOURCE (the image or
     * device the hook's view stands for; some hooks ignore it); {@code replicaKey} names the
     * destination, so that change tracking for two replicas of one disk stays apart.
     */
    Snapshot take(Path source, String replicaKey) throws SnapshotException;

    /** {@link #disks()} of a hook that views as many disks as the cycle has, matching them to SOURCEs itself. */
    int ANY = 0;

    /** How many disks the hook's spec names (a qemu spec may name several drives of one VM), or {@link #ANY}. */
    default int disks() {
        return 1;
    }

    /**
     * Freezes views of the {@link #disks()} disks at one instant: {@code sources.get(i)} and
     * {@code replicaKeys.get(i)} are the i-th disk's. A hook that views one disk takes one.
     */
    default java.util.List<Snapshot> takeAll(java.util.List<Path> sources, java.util.List<String> replicaKeys)
            throws SnapshotException {
        if (sources.size() != 1) {
            throw new SnapshotException("--snapshot " + kind() + " views one disk, and " + sources.size()
                    + " SOURCEs were given; run one cycle per disk", true);
        }
        return java.util.List.of(take(sources.get(0), replicaKeys.get(0)));
    }

    /** Releases a snapshot recorded by a process that is gone. Idempotent. */
    void releaseStale(StaleSnapshots.Entry entry) throws SnapshotException;
}
