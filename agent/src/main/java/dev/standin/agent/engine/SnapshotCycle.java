package dev.standin.agent.engine;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
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
 * One disk's cycle read from a point-in-time view ({@code standin sync --snapshot KIND:ARGS}).
 * <ol>
 *   <li>Snapshots left by a crashed run are released first (their records are in the state dir).
 *   <li>The hook freezes a view; the cycle reads the view instead of SOURCE, and only the changed
 *       extents when the hook tracks changes and the replica's signature cache is valid.
 *   <li>Once the replica has committed, the hook is told, so tracking advances to this view; the
 *       snapshot is released either way.
 * </ol>
 */
final class SnapshotCycle {

    private static final int TRACKED_SEGMENT_SIZE = 64 << 10;

    private final SyncOptions options;
    private final SnapshotSpec spec;
    private final Progress progress;
    private final Consumer<String> notices;
    private final Optional<RemoteShell.Connector> ssh;

    /**
     * {@code notices} receives one line per stale snapshot released at start-up; {@code ssh}
     * reaches the hosts of remote hooks (esxi).
     */
    SnapshotCycle(SyncOptions options, SnapshotSpec spec, Progress progress, Consumer<String> notices,
            Optional<RemoteShell.Connector> ssh) {
        this.options = options;
        this.spec = spec;
        this.progress = progress;
        this.notices = notices;
        this.ssh = ssh;
    }

    /** How the cycle reaches the replica, once the view is taken; {@code tracking} is the view's. */
    @FunctionalInterface
    interface Replicate {
        SyncStats run(SyncOptions fromView, Tracking tracking) throws StandinException, InterruptedException;
    }

    /** {@code replicaKey} names the destination for the hook's change tracking ({@link ReplicaKey}). */
    SyncStats run(String replicaKey, Replicate replicate) throws StandinException, InterruptedException {
        HookContext context = HookContext.of(options.stateDirectory(), options.useNative() ? NativeIo.tryLoad() : Optional.empty());
        SnapshotHooks hooks = new SnapshotHooks(context, ssh);
        SnapshotHook hook;
        try {
            hook = hooks.create(spec);
        } catch (IllegalArgumentException e) {
            throw new StandinException(ExitStatus.USAGE, e.getMessage(), e);
        }
        try {
            List<String> released = hooks.releaseStale();
            released.forEach(notices);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.SNAPSHOT, "cannot read snapshot records in " + options.stateDirectory()
                    + ": " + e.getMessage(), e);
        }
        Snapshot snapshot;
        progress.phase("taking " + spec.kind() + " snapshot", 0);
        try {
            snapshot = hook.take(options.source(), replicaKey);
        } catch (SnapshotException e) {
            throw failure(e.getMessage(), e);
        }
        SyncStats stats;
        try {
            SyncOptions fromView = options.withSource(snapshot.view(), snapshot.export(), segmentSize(snapshot));
            stats = replicate.run(fromView, snapshot.tracking());
            if (!options.dryRun()) {
                snapshot.replicated(stats.digest());
            }
        } catch (StandinException | InterruptedException | RuntimeException e) {
            releaseAfterFailure(snapshot, e.getMessage());
            throw e;
        } catch (SnapshotException e) {
            releaseAfterFailure(snapshot, e.getMessage());
            throw failure(e.getMessage(), e);
        }
        progress.phase("releasing " + spec.kind() + " snapshot", 0);
        try {
            snapshot.close();
            progress.phase("released", 0);
        } catch (SnapshotException e) {
            throw failure("the replica was committed, but " + e.getMessage(), e);
        }
        return stats;
    }

    /**
     * A tracked cycle reads whole segments around each change, so segments as small as QEMU's
     * bitmap granularity (64 KiB) read what changed and no more: with 1 % of a 2 GiB disk written
     * in 64 KiB pieces, 256 KiB segments read 168 MB for 41 MiB of change.
     */
    private int segmentSize(Snapshot snapshot) {
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
    private StandinException failure(String message, SnapshotException cause) {
        return new StandinException(ExitStatus.SNAPSHOT, "--snapshot " + spec + ": " + message, cause,
                cause.isPermanent());
    }
}
