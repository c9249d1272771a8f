package dev.standin.agent.transport;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiFunction;

/**
 * Several disks to one host: one SSH connection (one TCP stream, one key exchange, one login),
 * one exec channel and one {@code standin serve} per disk, all cycles at once. Each cycle commits
 * or fails on its own; a failed disk does not stop the others.
 */
public final class ParallelRemoteSync {

    /** A disk's cycle: its statistics, or why it failed. */
    public record Outcome(String source, SyncStats stats, StandinException failure) {}

    private ParallelRemoteSync() {}

    public static List<Outcome> run(List<String> sources, RemoteLocation directory, SshOptions ssh,
            BiFunction<String, Path, SyncOptions> options, Progress progress) throws StandinException, InterruptedException {
        String base = directory.path().endsWith("/") ? directory.path() : directory.path() + "/";
        ExecutorService pool = Executors.newFixedThreadPool(sources.size(), r -> {
            Thread t = new Thread(r, "standin-disk");
            t.setDaemon(true);
            return t;
        });
        try (SshConnection connection = SshConnection.open(directory, ssh)) {
            List<Future<SyncStats>> cycles = new ArrayList<>();
            for (String source : sources) {
                String name = Path.of(source).getFileName().toString();
                RemoteLocation replica = new RemoteLocation(directory.user(), directory.host(), directory.port(),
                        base + name);
                SyncOptions o = options.apply(source, Path.of(replica.path()));
                SshOptions share = ssh.sharedBy(sources.size());
                cycles.add(pool.submit(() -> new RemoteSync(o, replica, share, Progress.NONE).run(connection)));
            }
            List<Outcome> outcomes = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                try {
                    outcomes.add(new Outcome(sources.get(i), cycles.get(i).get(), null));
                } catch (ExecutionException e) {
                    StandinException failure = e.getCause() instanceof StandinException s ? s
                            : new StandinException(ExitStatus.ERROR, "internal error: " + e.getCause(), e.getCause());
                    outcomes.add(new Outcome(sources.get(i), null, failure));
                }
            }
            return outcomes;
        } finally {
            pool.shutdownNow();
            progress.finish();
        }
    }
}
