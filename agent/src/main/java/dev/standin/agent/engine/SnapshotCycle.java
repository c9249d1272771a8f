package dev.standin.agent.engine;

import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.RemoteShell;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.SnapshotHooks;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.Tracking;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Cycles read from point-in-time views ({@code standin sync --snapshot KIND:ARGS}).
 * <ol>
 *   <li>Snapshots left by a crashed run are released first (their records are in the state dir).
 *   <li>{@link #take}: the hook freezes the views of all the disks that share its spec at one
 *       instant (a qemu spec may name several drives of one VM).
 *   <li>{@link #run}: each disk's cycle reads its view instead of SOURCE, and only the changed
 *       extents when the hook tracks changes and the replica's signature cache is valid. Once the
 *       replica has committed, the hook is told, so tracking advances to this view; the snapshot
 *       is released either way.
 * </ol>
 */
final class SnapshotCycle {

    private static final int TRACKED_SEGMENT_SIZE = 64 << 10;

    private SnapshotCycle() {}

    /** How the cycle reaches the replica, once the view is taken; {@code tracking} is the view's. */
    @FunctionalInterface
    interface Replicate {
        SyncStats run(SyncOptions fromView, Tracking tracking) throws StandinException, InterruptedException;
    }

    /**
     * Takes the views of {@code disks} (all with {@code spec}) at one instant; {@code replicaKeys}
     * name their destinations for change tracking ({@link ReplicaKey}). {@code notices} receives
     * one line per stale snapshot released first; {@code ssh} reaches the hosts of remote hooks.
     */
    static List<Snapshot> take(SnapshotSpec spec, List<SyncOptions> disks, List<String> replicaKeys, Progress progress,
            Consumer<String> notices, Optional<RemoteShell.Connector> ssh) throws StandinException {
        SyncOptions first = disks.get(0);
        SnapshotHooks hooks = hooks(first, ssh);
        SnapshotHook hook;
        try {
            hook = hooks.create(spec);
        } catch (IllegalArgumentException e) {
            throw new StandinException(ExitStatus.USAGE, e.getMessage(), e);
        }
        if (hook.disks() != SnapshotHook.ANY && hook.disks() != disks.size()) {
            throw new StandinException(ExitStatus.USAGE, "--snapshot " + spec + " views " + hook.disks() + " disk(s), and "
                    + disks.size() + " SOURCE(s) were given; name one drive per SOURCE, in the same order");
        }
        releaseStale(hooks, first).forEach(notices);
        progress.phase("taking " + spec.kind() + " snapshot", 0);
        try {
            return hook.takeAll(disks.stream().map(SyncOptions::source).toList(), replicaKeys);
        } catch (SnapshotException e) {
            throw failure(spec, e.getMessage(), e);
        }
    }

    /** Releases the views of snapshots recorded in {@code options}' state directory by processes that are gone. */
    static List<String> releaseStale(SyncOptions options, Optional<RemoteShell.Connector> ssh) throws StandinException {
        return releaseStale(hooks(options, ssh), options);
    }

    /** The hooks whose records live in {@code options}' state directory. */
    private static SnapshotHooks hooks(SyncOptions options, Optional<RemoteShell.Connector> ssh) {
        return new SnapshotHooks(HookContext.of(options.stateDirectory(), options.useNative() ? NativeIo.tryLoad()
                : Optional.empty()), ssh);
    }

    private static List<String> releaseStale(SnapshotHooks hooks, SyncOptions options) throws StandinException {
        try {
            return hooks.releaseStale();
        } catch (IOException e) {
            throw new StandinException(ExitStatus.SNAPSHOT, "cannot read snapshot records in " + options.stateDirectory()
                    + ": " + e.getMessage(), e);
        }
    }

    /** One disk's cycle from its taken {@code snapshot}, which is released whatever happens. */
    static SyncStats run(Snapshot snapshot, SyncOptions options, SnapshotSpec spec, Progress progress,
            Replicate replicate) throws StandinException, InterruptedException {
        SyncStats stats;
        try {
            SyncOptions fromView = options.withSource(snapshot.view(), snapshot.export(), segmentSize(snapshot, options));
            stats = replicate.run(fromView, snapshot.tracking());
            if (!options.dryRun()) {
                snapshot.replicated(stats.digest());
            }
        } catch (SnapshotException e) {
            releaseAfterFailure(snapshot, e.getMessage());
            throw failure(spec, e.getMessage(), e);
        } catch (StandinException | InterruptedException | RuntimeException e) {
            releaseAfterFailure(snapshot, e.getMessage());
            throw e;
        }
        progress.phase("releasing " + spec.kind() + " snapshot", 0);
        try {
            snapshot.close();
            progress.phase("released", 0);
        } catch (SnapshotException e) {
            throw failure(spec, "the replica was committed, but " + e.getMessage(), e);
        }
        return stats;
    }

    /**
     * A tracked cycle reads whole segments around each change, so segments as small as QEMU's
     * bitmap granularity (64 KiB) read what changed and no more: with 1 % of a 2 GiB disk written
     * in 64 KiB pieces, 256 KiB segments read 168 MB for 41 MiB of change.
     */
    private static int segmentSize(Snapshot snapshot, SyncOptions options) {
        return snapshot.tracking().changes().isPresent() ? Math.min(options.segmentSize(), TRACKED_SEGMENT_SIZE)
                : options.segmentSize();
    }

    /**
     * The cycle failed; the snapshot must still be released, and if that fails too the user must
     * hear about both (a VM left on its overlay matters more than the failed cycle).
     */
    private static void releaseAfterFailure(Snapshot snapshot, String failure) throws StandinException {
        try {
            snapshot.close();
        } catch (SnapshotException releaseFailure) {
            throw new StandinException(ExitStatus.SNAPSHOT, failure + "; and releasing the snapshot failed: "
                    + releaseFailure.getMessage(), releaseFailure);
        }
    }

    /** The hook's own failure, with its own word on whether a retry can help. */
    private static StandinException failure(SnapshotSpec spec, String message, SnapshotException cause) {
        return new StandinException(ExitStatus.SNAPSHOT, "--snapshot " + spec + ": " + message, cause,
                cause.isPermanent());
    }
}
