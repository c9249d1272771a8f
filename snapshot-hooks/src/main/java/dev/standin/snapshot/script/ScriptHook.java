package dev.standin.snapshot.script;

import dev.standin.snapshot.HeldSnapshot;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code script:PRE:POST[:TIMEOUT_SECONDS]}: the user's own commands around the cycle, e.g. a
 * guest-agent freeze and thaw, or a storage array's snapshot API. PRE runs before the source is
 * read and POST after; both are executables run without a shell, with two arguments: the source
 * path and the snapshot id. Each is killed (with its children) after TIMEOUT_SECONDS (default 60).
 * POST always runs once PRE has been started, also when PRE failed or timed out, and at the next
 * start if the agent died in between. The view is SOURCE itself.
 */
public final class ScriptHook implements SnapshotHook {

    public static final String KIND = "script";

    private final Path pre;
    private final Path post;
    private final Duration timeout;
    private final HookContext context;

    public ScriptHook(Path pre, Path post, Duration timeout, HookContext context) {
        this.pre = pre;
        this.post = post;
        this.timeout = timeout;
        this.context = context;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public Snapshot take(Path source, String replicaKey) throws SnapshotException {
        String id = StaleSnapshots.newId();
        StaleSnapshots.Entry entry;
        try {
            entry = context.registry().record(id, KIND, Map.of("post", post.toString(), "source", source.toString(),
                    "timeoutSeconds", Long.toString(timeout.toSeconds())));
        } catch (IOException e) {
            throw new SnapshotException("cannot record the script snapshot: " + e.getMessage(), false, e);
        }
        CommandRunner.Result result;
        try {
            context.checkpoints().reached("script.recorded");
            result = context.runner().run(List.of(pre.toString(), source.toString(), id), timeout);
        } catch (SnapshotException | IOException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            SnapshotException failure = e instanceof SnapshotException s ? s
                    : new SnapshotException("pre-snapshot command " + pre + " could not run: " + e.getMessage(), true, e);
            runPost(entry, failure);
            throw failure;
        }
        if (!result.ok()) {
            SnapshotException failure = new SnapshotException("pre-snapshot command failed: " + result.describe(), false);
            runPost(entry, failure);
            throw failure;
        }
        return new ScriptSnapshot(entry, source);
    }

    @Override
    public void releaseStale(StaleSnapshots.Entry entry) throws SnapshotException {
        SnapshotException failure = new SnapshotException("post-snapshot command for stale " + entry.id() + " failed", false);
        runPost(entry, failure);
        if (failure.getSuppressed().length > 0) {
            throw failure;
        }
    }

    /** Runs POST; its failure is attached to {@code failure} (so PRE's error stays the headline). */
    private void runPost(StaleSnapshots.Entry entry, SnapshotException failure) {
        try {
            CommandRunner.Result result = context.runner().run(
                    List.of(entry.field("post"), entry.field("source"), entry.id()),
                    Duration.ofSeconds(Long.parseLong(entry.field("timeoutSeconds"))));
            if (!result.ok()) {
                failure.addSuppressed(new SnapshotException("post-snapshot command failed: " + result.describe(), false));
                return; // keep the record: POST has not succeeded, the next start runs it again
            }
            context.registry().remove(entry);
        } catch (SnapshotException | IOException | RuntimeException e) {
            failure.addSuppressed(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.addSuppressed(e);
        }
    }

    private final class ScriptSnapshot extends HeldSnapshot {
        private final StaleSnapshots.Entry entry;

        ScriptSnapshot(StaleSnapshots.Entry entry, Path source) {
            super(source, Tracking.untracked("the script hook does not track changes"));
            this.entry = entry;
        }

        @Override
        protected void release(String replicaDigest) throws SnapshotException {
            SnapshotException failure = new SnapshotException("releasing script snapshot " + entry.id() + " failed", false);
            runPost(entry, failure);
            if (failure.getSuppressed().length > 0) {
                throw failure;
            }
        }
    }
}
