package dev.standin.agent.engine;

import dev.standin.agent.image.DiskImage;
import dev.standin.agent.replica.Journal;
import dev.standin.agent.sync.Cycle;
import dev.standin.agent.sync.CycleRecovery;
import dev.standin.agent.sync.Destination;
import dev.standin.agent.sync.Failures;
import dev.standin.agent.sync.LocalDestination;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.Reading;
import dev.standin.agent.sync.ReplicaSession;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.agent.transport.RemoteVmPoints;
import dev.standin.agent.transport.SshConnection;
import dev.standin.agent.transport.SshDestination;
import dev.standin.agent.transport.SshOptions;
import dev.standin.agent.verify.Scrub;
import dev.standin.agent.verify.ScrubOptions;
import dev.standin.agent.verify.ScrubReport;
import dev.standin.agent.vm.VmPoint;
import dev.standin.agent.vm.VmPoints;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import dev.standin.snapshot.RemoteShell;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.Tracking;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The one entry point of a replication cycle: the command line, the resident agent and the
 * supervisor hand it a {@link CycleRequest} and get a {@link CycleReport}: one {@link DiskOutcome}
 * per disk and the VM point the cycle made. It decides where each disk is read from (the source,
 * or a snapshot's view) and which {@link Destination} receives it; the {@link Cycle} decides everything else (block size, first copy, resume, where
 * signatures come from).
 *
 * <p>Several disks to another host share one SSH connection and run at once, each on its own
 * channel, committing or failing on its own. Several disks on this host run one after another:
 * they share its disks, and parallel reads of one spindle only seek.
 */
public final class Replication {

    private final Progress progress;
    private final Consumer<String> notices;
    private final Optional<RemoteShell.Connector> hookHosts;

    /**
     * {@code progress} follows a single disk's cycle (several disks report none); {@code notices}
     * gets one line for each thing the operator should hear of that is not a failure (a stale
     * snapshot released); {@code hookHosts} reaches the hosts of remote snapshot hooks (esxi).
     */
    public Replication(Progress progress, Consumer<String> notices, Optional<RemoteShell.Connector> hookHosts) {
        this.progress = progress;
        this.notices = notices;
        this.hookHosts = hookHosts;
    }

    /**
     * Runs every disk's cycle; a failed disk does not stop the others. Disks whose views share one
     * snapshot spec are viewed together, at one instant, before any cycle starts.
     */
    public CycleReport run(CycleRequest request) throws InterruptedException {
        Instant began = Instant.now();
        Views views = takeViews(request);
        List<DiskOutcome> outcomes = runDisks(request, views);
        if (request.vm().isEmpty() || !outcomes.stream().allMatch(DiskOutcome::succeeded)) {
            return CycleReport.of(outcomes);
        }
        try {
            return new CycleReport(outcomes, recordVmPoint(request, request.vm().get(), began, outcomes,
                    views.definition().or(() -> request.vm().get().vmx())), Optional.empty());
        } catch (StandinException e) {
            return new CycleReport(outcomes, Optional.empty(), Optional.of(e));
        }
    }

    private List<DiskOutcome> runDisks(CycleRequest request, Views views) throws InterruptedException {
        try {
            if (request.disks().size() == 1) {
                return List.of(runOne(request, request.disks().get(0), progress, Optional.empty(), views));
            }
            if (request.remote().isEmpty()) {
                List<DiskOutcome> outcomes = new ArrayList<>();
                for (CycleRequest.Disk disk : request.disks()) {
                    outcomes.add(runOne(request, disk, Progress.NONE, Optional.empty(), views));
                }
                return outcomes;
            }
            return runParallel(request, views);
        } finally {
            views.releaseUnused();
        }
    }

    /**
     * Records the VM point of a cycle whose disks all committed: beside the replicas on this host,
     * or through the replica host's receiver. Empty when there is none to record (a dry run, points
     * not kept, a receiver too old to record them: each said as a notice).
     */
    private Optional<VmPoint> recordVmPoint(CycleRequest request, CycleRequest.Vm vm, Instant began,
            List<DiskOutcome> outcomes, Optional<String> vmx) throws StandinException {
        List<VmPoint.Disk> disks = new ArrayList<>();
        for (DiskOutcome outcome : outcomes) {
            SyncStats stats = outcome.stats().orElseThrow();
            if (stats.point() < 1) {
                notices.accept("VM " + vm.name() + ": no VM point (the cycle kept no recovery point: a dry run or "
                        + "--keep-points 0)");
                return Optional.empty();
            }
            disks.add(new VmPoint.Disk(Path.of(stats.destination()).getFileName().toString(), stats.point(),
                    stats.sourceBytes(), HexFormat.of().parseHex(stats.digest())));
        }
        VmPoint point = new VmPoint(0, vm.name(), began, disks, vm.qemu(), vm.libvirt(), vmx);
        Path first = request.disks().get(0).options().destination();
        if (request.remote().isPresent()) {
            CycleRequest.Remote remote = request.remote().get();
            OptionalLong id = RemoteVmPoints.record(remote.replica(first.toString()), remote.ssh(), point);
            if (id.isEmpty()) {
                notices.accept("VM " + vm.name() + ": " + remote.host().host() + "'s standin is too old to record VM "
                        + "points; each disk's point is kept");
                return Optional.empty();
            }
            return Optional.of(point.withId(id.getAsLong()));
        }
        Path directory = first.toAbsolutePath().getParent();
        try {
            return Optional.of(new VmPoints(directory, vm.name()).record(point,
                    request.disks().get(0).options().stateDirectory(), NativeIo.tryLoad()));
        } catch (IOException e) {
            throw Failures.wrap(e, "destination ");
        }
    }

    /**
     * What every cycle does first, without the cycle, for an agent that starts after a crash:
     * releases the views of snapshots whose process is gone, and brings each local replica of
     * {@code request} to its last committed point (a committed journal replayed, an uncommitted
     * one discarded, an interrupted first copy kept to resume). A replica on another host is that
     * host's to recover (by its receiver at the next cycle). One line per thing done or refused.
     */
    public List<String> recover(CycleRequest request) {
        List<String> lines = new ArrayList<>();
        SyncOptions first = request.disks().get(0).options();
        try {
            lines.addAll(SnapshotCycle.releaseStale(first, hookHosts));
        } catch (StandinException e) {
            lines.add(e.getMessage());
        }
        if (request.remote().isPresent()) {
            return lines;
        }
        for (CycleRequest.Disk disk : request.disks()) {
            Path replica = disk.options().destination();
            Path directory = replica.toAbsolutePath().getParent();
            if (directory != null && Files.isDirectory(directory)) { // else nothing was ever written there
                recoverReplica(replica, disk.options().stateDirectory(), Reading.of(disk.options()).io())
                        .ifPresent(lines::add);
            }
        }
        return lines;
    }

    /**
     * Brings every replica under {@code root} that an interrupted cycle left a journal beside to
     * its last committed point, as the next cycle would: what a replica host's agent does when it
     * starts, so that its replicas are consistent before anyone reads them. One line per replica.
     */
    public static List<String> recoverReplicas(Path root, Path stateDirectory) {
        List<String> lines = new ArrayList<>();
        List<Path> replicas;
        try (Stream<Path> files = Files.walk(root)) {
            replicas = files.filter(Files::isRegularFile).flatMap(f -> Journal.replicaOf(f).stream()).toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of("replica root " + root + ": " + Failures.reason(e));
        }
        Optional<NativeIo> io = NativeIo.tryLoad();
        for (Path replica : replicas) {
            recoverReplica(replica, stateDirectory, io).ifPresent(lines::add);
        }
        return lines;
    }

    /** Locks {@code replica} and recovers it, as a cycle's first step does; what was done, if anything. */
    private static Optional<String> recoverReplica(Path replica, Path stateDirectory,
            Optional<NativeIo> io) {
        try (ReplicaSession session = ReplicaSession.open(replica, stateDirectory, io)) {
            CycleRecovery found = CycleRecovery.of(session.recovery());
            if (found == CycleRecovery.NONE) {
                return Optional.empty();
            }
            return Optional.of(replica + ": the interrupted cycle's journal was " + found.text()
                    + (found == CycleRecovery.HELD ? " to resume" : "") + "; the replica is at its last committed point");
        } catch (StandinException e) {
            return Optional.of(replica + ": " + e.getMessage());
        }
    }

    /** Each disk's snapshot, or why its group's could not be taken. Keyed by identity: two disks may be equal. */
    private static final class Views {
        final Map<CycleRequest.Disk, Snapshot> taken = new IdentityHashMap<>();
        final Map<CycleRequest.Disk, StandinException> failed = new IdentityHashMap<>();
        private final Set<CycleRequest.Disk> used = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));

        /** The VM's own definition a view read at its instant (an ESXi VM's .vmx), if one did. */
        Optional<String> definition() {
            return taken.values().stream().map(Snapshot::definition).flatMap(Optional::stream).findFirst();
        }

        /** The disk's snapshot, handed out once: its cycle releases it. */
        Optional<Snapshot> claim(CycleRequest.Disk disk) {
            Snapshot snapshot = taken.get(disk);
            if (snapshot == null) {
                return Optional.empty();
            }
            used.add(disk);
            return Optional.of(snapshot);
        }

        /** Snapshots whose cycle never ran (a connection that failed first) are released here. */
        void releaseUnused() {
            for (var entry : taken.entrySet()) {
                if (!used.contains(entry.getKey())) {
                    try {
                        entry.getValue().close();
                    } catch (SnapshotException e) {
                        // the record stays in the state dir; the next start releases it and says so
                    }
                }
            }
        }
    }

    private Views takeViews(CycleRequest request) {
        Views views = new Views();
        Map<SnapshotSpec, List<CycleRequest.Disk>> groups = new LinkedHashMap<>();
        for (CycleRequest.Disk disk : request.disks()) {
            disk.view().ifPresent(spec -> groups.computeIfAbsent(spec, s -> new ArrayList<>()).add(disk));
        }
        for (var group : groups.entrySet()) {
            List<CycleRequest.Disk> disks = group.getValue();
            try {
                List<Snapshot> snapshots = SnapshotCycle.take(group.getKey(), disks.stream().map(CycleRequest.Disk::options)
                        .toList(), disks.stream().map(d -> replicaKey(request, d.options())).toList(),
                        disks.size() == request.disks().size() ? progress : Progress.NONE, notices, hookHosts);
                for (int i = 0; i < disks.size(); i++) {
                    views.taken.put(disks.get(i), snapshots.get(i));
                }
            } catch (StandinException e) {
                disks.forEach(d -> views.failed.put(d, e));
            }
        }
        return views;
    }

    /** Names a disk's replica for a snapshot hook's change tracking: two replicas of one disk track apart. */
    private static String replicaKey(CycleRequest request, SyncOptions options) {
        return request.remote().isPresent()
                ? ReplicaKey.of(request.remote().get().replica(options.destination().toString()).toString())
                : ReplicaKey.of(options.destination().toAbsolutePath().normalize().toString());
    }

    private List<DiskOutcome> runParallel(CycleRequest request, Views views) throws InterruptedException {
        CycleRequest.Remote remote = request.remote().get();
        List<CycleRequest.Disk> disks = request.disks();
        SshConnection connection;
        try {
            connection = SshConnection.open(remote.host(), remote.ssh());
        } catch (StandinException e) {
            return disks.stream().map(d -> DiskOutcome.failed(d.options().source().toString(), e)).toList();
        }
        ExecutorService pool = Executors.newFixedThreadPool(disks.size(), r -> {
            Thread t = new Thread(r, "standin-disk");
            t.setDaemon(true);
            return t;
        });
        try (connection) {
            List<Future<DiskOutcome>> cycles = new ArrayList<>();
            for (CycleRequest.Disk disk : disks) {
                cycles.add(pool.submit(() -> runOne(request, disk, Progress.NONE, Optional.of(connection), views)));
            }
            List<DiskOutcome> outcomes = new ArrayList<>();
            for (int i = 0; i < disks.size(); i++) {
                try {
                    outcomes.add(cycles.get(i).get());
                } catch (ExecutionException e) {
                    outcomes.add(DiskOutcome.failed(disks.get(i).options().source().toString(),
                            Failures.wrap(e.getCause() instanceof Exception x ? x : e, "source ")));
                }
            }
            return outcomes;
        } finally {
            pool.shutdownNow();
            progress.finish();
        }
    }

    private DiskOutcome runOne(CycleRequest request, CycleRequest.Disk disk, Progress progress,
            Optional<SshConnection> shared, Views views) throws InterruptedException {
        String source = disk.options().source().toString();
        if (views.failed.containsKey(disk)) {
            return DiskOutcome.failed(source, views.failed.get(disk));
        }
        try {
            Target target = target(request, disk, progress, shared);
            Optional<Snapshot> view = views.claim(disk);
            SyncStats stats = view.isPresent()
                    ? SnapshotCycle.run(view.get(), disk.options(), disk.view().get(), progress, target::cycle)
                    : target.cycle(disk.options(), null);
            return DiskOutcome.succeeded(source, stats, target.scrubReport());
        } catch (StandinException e) {
            return DiskOutcome.failed(source, e);
        }
    }

    /** Where one disk's replica is, and how a cycle reaches it. */
    private interface Target {
        SyncStats cycle(SyncOptions options, Tracking tracking) throws StandinException, InterruptedException;

        Optional<ScrubReport> scrubReport();
    }

    private Target target(CycleRequest request, CycleRequest.Disk disk, Progress progress,
            Optional<SshConnection> shared) throws StandinException {
        SyncOptions options = disk.options();
        if (request.remote().isPresent()) {
            return new RemoteTarget(request, request.remote().get(), options, progress, shared,
                    request.disks().size());
        }
        refuseSameImage(options);
        return new LocalTarget(request.scrub(), options, progress);
    }

    private static final class LocalTarget implements Target {
        private final boolean scrub;
        private final SyncOptions options;
        private final Progress progress;
        private Optional<ScrubReport> scrubReport = Optional.empty();

        LocalTarget(boolean scrub, SyncOptions options, Progress progress) {
            this.scrub = scrub;
            this.options = options;
            this.progress = progress;
        }

        @Override
        public SyncStats cycle(SyncOptions cycleOptions, Tracking tracking) throws StandinException,
                InterruptedException {
            if (scrub) {
                ScrubOptions scrubOptions = ScrubOptions.defaults().withThreads(cycleOptions.threads())
                        .withIdleIo(cycleOptions.idleIo()).withDropCache(cycleOptions.dropCache())
                        .withStateDirectory(cycleOptions.stateDirectory());
                Scrub.Repair repair = new Scrub(scrubOptions, progress).repair(cycleOptions);
                scrubReport = Optional.of(repair.scrub());
                return repair.sync();
            }
            Reading reading = Reading.of(cycleOptions);
            try (LocalDestination destination = new LocalDestination(cycleOptions.destination(),
                    cycleOptions.stateDirectory(), reading, progress, Optional.empty())) {
                return new Cycle(cycleOptions, reading, progress).run(destination, tracking);
            }
        }

        @Override
        public Optional<ScrubReport> scrubReport() {
            return scrubReport;
        }
    }

    private static final class RemoteTarget implements Target {
        private final CycleRequest request;
        private final CycleRequest.Remote remote;
        private final SyncOptions options;
        private final Progress progress;
        private final Optional<SshConnection> shared;
        private final int disks;
        private Optional<ScrubReport> scrubReport = Optional.empty();

        RemoteTarget(CycleRequest request, CycleRequest.Remote remote, SyncOptions options, Progress progress,
                Optional<SshConnection> shared, int disks) {
            this.request = request;
            this.remote = remote;
            this.options = options;
            this.progress = progress;
            this.shared = shared;
            this.disks = disks;
        }

        @Override
        public SyncStats cycle(SyncOptions cycleOptions, Tracking tracking) throws StandinException,
                InterruptedException {
            var location = remote.replica(cycleOptions.destination().toString());
            SshOptions ssh = disks > 1 ? remote.ssh().sharedBy(disks) : remote.ssh();
            SshDestination destination = shared.isPresent()
                    ? SshDestination.over(shared.get(), location, ssh, cycleOptions.stateDirectory(), progress)
                    : SshDestination.connecting(location, ssh, cycleOptions.stateDirectory(), request.scrub(),
                            progress, remote.warmChannels());
            try (destination) {
                SyncStats stats = new Cycle(cycleOptions, Reading.of(cycleOptions), destination.progress())
                        .run(destination, tracking);
                scrubReport = destination.scrubReport();
                return stats;
            }
        }

        @Override
        public Optional<ScrubReport> scrubReport() {
            return scrubReport;
        }
    }

    /** A replica of an image onto itself would write its side files beside the source, and "succeed". */
    private static void refuseSameImage(SyncOptions options) throws StandinException {
        boolean same;
        try {
            same = DiskImage.sameImage(options.source(), options.destination());
        } catch (IOException e) {
            return; // opening either says what is wrong with it, with its side
        }
        if (same) {
            throw new StandinException(ExitStatus.USAGE, "source " + options.source() + " and destination "
                    + options.destination() + " are the same image; name a replica elsewhere");
        }
    }
}
