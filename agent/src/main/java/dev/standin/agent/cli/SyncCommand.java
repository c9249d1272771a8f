package dev.standin.agent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.standin.agent.daemon.Invocation;
import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.DiskOutcome;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.sync.CycleRecovery;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.agent.transport.SshRemoteShell;
import dev.standin.delta.MoveSearch;
import dev.standin.delta.stream.Compression;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.SnapshotSpec;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code standin sync SOURCE DEST}. */
@Command(
        name = "sync",
        mixinStandardHelpOptions = true,
        description = {
            "Makes DEST a byte-identical copy of SOURCE, writing only the blocks that differ.",
            "SOURCE and DEST are image files or block devices; DEST may not exist yet. "
                    + "The update is atomic: if the run is interrupted, DEST keeps its previous content "
                    + "and the next run finishes or discards what was left.",
            "DEST may be on another host: [user@]host:PATH or ssh://[user@]host[:port]/PATH, reached over SSH "
                    + "with 'standin serve' on the remote side. With several SOURCEs, DEST is a directory and "
                    + "each replica takes its source's file name; remote cycles then run in parallel over one "
                    + "SSH connection and --json prints one object per line."
        },
        sortOptions = false)
final class SyncCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @ParentCommand
    private Main main;

    @Parameters(index = "0..*", arity = "2..*", paramLabel = "SOURCE... DEST", hideParamSyntax = true,
            description = "Image files or block devices to copy from, then the replica (or directory) to update.")
    private List<String> paths;

    @Option(names = {"-B", "--block-size"}, paramLabel = "BYTES",
            description = "Block size, a power of two from 4096 to 1048576 (suffixes K, M). "
                    + "Default: the smallest that keeps the image at or under 2^20 blocks.",
            converter = SizeConverter.class)
    private int blockSize;

    @Option(names = "--move-search", paramLabel = "WHERE", defaultValue = "sector",
            description = "Where to look for data that moved within the image: sector (every 512-byte offset: "
                    + "every move a disk makes), byte (every offset, as rsync does; for images of files whose "
                    + "content shifts, at ~80 µs per changed 4 KiB block) or none (default: ${DEFAULT-VALUE}).")
    private MoveSearch moveSearch;

    @Option(names = "--compress", paramLabel = "CODEC", defaultValue = "auto",
            description = "Compression of the delta stream: none, lz4 or zstd (default: zstd to another host, "
                    + "none locally, where there is no wire to save).")
    private String compression;

    @Option(names = {"-n", "--dry-run"}, description = "Compute the delta and report it; write nothing.")
    private boolean dryRun;

    @Option(names = "--progress", description = "Show a progress bar with rate and ETA (on a terminal only).")
    private boolean showProgress;

    @Option(names = "--stats", description = "Print block and byte counts at the end.")
    private boolean stats;

    @Option(names = "--json", description = "Print the statistics as one JSON object on stdout.")
    private boolean json;

    @Option(names = {"-v", "--verbose"}, description = "Say what is happening on stderr.")
    private boolean verbose;

    @Mixin
    private ReadingMixin reading;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/standin",
            description = "Where journals and recovery points of block device destinations are kept "
                    + "(default: ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Mixin
    private SshMixin ssh;

    @Option(names = "--bwlimit", paramLabel = "RATE", converter = BandwidthConverter.class,
            description = "Send at most RATE per second to another host, smoothly; to a local DEST, read at most RATE "
                    + "per second, source and replica together (rsync's units: a plain number is KiB/s; K, M, G are "
                    + "powers of 1024, KB, MB powers of 1000). Shared equally by parallel disks.")
    private Long bandwidthLimit;

    @Option(names = "--keep-points", paramLabel = "N", defaultValue = "" + SyncOptions.DEFAULT_KEEP_POINTS,
            description = "Recovery points to keep, oldest removed first; 0 keeps none (default: ${DEFAULT-VALUE}).")
    private int keepPoints;

    @Option(names = "--snapshot", paramLabel = "KIND:ARGS",
            description = "Read a point-in-time view instead of SOURCE as it runs: qemu:QMP_SOCKET:NODE[,NODE...][:GUEST_AGENT_SOCKET] "
                    + "(several drives of one VM at one instant, one per SOURCE, raw or qcow2; with the guest agent's "
                    + "socket, inside a guest filesystem freeze), file[:COPY_DIR], "
                    + "script:PRE:POST[:TIMEOUT], lvm:VG/LV[:SIZE], esxi:HOST:VMID[:quiesce], libvirt:DOMAIN[:URI] "
                    + "(the SOURCEs, disks of the domain, at one instant through libvirt's backup API; read through "
                    + "qemu-nbd when it is shut off), image[:FORMAT] (stopped images of any QEMU format through "
                    + "qemu-nbd, whose lock keeps writers out). With qemu dirty bitmaps "
                    + "or LVM thin snapshots only the changed extents are read (see docs/snapshot-hooks.md).")
    private String snapshot;

    private CompletableFuture<ObjectMapper> jsonMapper;

    @Override
    public Integer call() throws StandinException, InterruptedException {
        if (json) {
            jsonMapper = prepareJson();
        }
        List<String> sources = paths.subList(0, paths.size() - 1);
        String destinationText = paths.get(paths.size() - 1);
        Optional<RemoteLocation> remote;
        try {
            remote = RemoteLocation.parse(destinationText);
        } catch (IllegalArgumentException e) {
            throw new StandinException(ExitStatus.USAGE, "destination " + destinationText + ": " + e.getMessage(), e);
        }
        for (String s : sources) {
            if (RemoteLocation.parse(s).isPresent()) {
                throw new StandinException(ExitStatus.USAGE, "source " + s
                        + " is on another host; run standin on that host to replicate from it");
            }
        }
        Invocation invocation = main.invocation();
        Progress progress = showProgress && invocation.terminal() && sources.size() == 1
                ? new TerminalProgress(invocation) : Progress.NONE;
        VerboseProgress verboseProgress = null;
        if (verbose) {
            progress = verboseProgress = new VerboseProgress(progress, spec.commandLine().getErr());
        }
        List<SyncStats> results = replicate(sources, destinationText, remote, progress);
        if (verboseProgress != null) {
            verboseProgress.succeeded();
        }
        for (SyncStats result : results) {
            report(result);
        }
        return ExitStatus.OK.code();
    }

    private SyncOptions options(String source, Path destination, boolean toRemote) {
        String codec = compression.equals("auto") ? (toRemote ? "zstd" : "none") : compression;
        return SyncOptions.builder(path(source), destination)
                .blockSize(blockSize)
                .compression(Compression.parse(codec))
                .dryRun(dryRun)
                .dropCache(reading.dropCache())
                .idleIo(reading.idleIo())
                .threads(reading.threads())
                .stateDirectory(stateDirectory)
                .keepPoints(keepPoints)
                .moveSearch(moveSearch)
                // No wire here: the limit is on what the cycle reads, what weighs on a production host.
                .readBytesPerSecond(toRemote || bandwidthLimit == null ? 0 : bandwidthLimit)
                .build();
    }

    /**
     * One request to the engine: each SOURCE with its replica (DEST itself, or DEST/NAME for several
     * sources or a DEST directory), on this host or DEST's.
     */
    private List<SyncStats> replicate(List<String> sources, String destination, Optional<RemoteLocation> remote,
            Progress progress) throws StandinException, InterruptedException {
        boolean intoDirectory = remote.isPresent() ? sources.size() > 1 || remote.get().path().endsWith("/")
                : sources.size() > 1 || Files.isDirectory(path(destination));
        if (remote.isEmpty() && sources.size() > 1 && !Files.isDirectory(path(destination))) {
            throw new StandinException(ExitStatus.USAGE, "with several sources, " + destination + " must be a directory");
        }
        Optional<SnapshotSpec> view = snapshot == null ? Optional.empty()
                : Optional.of(SnapshotSpec.parse(snapshot).resolvingPaths(main.invocation()::resolve));
        List<CycleRequest.Disk> disks = new ArrayList<>();
        for (String source : sources) {
            Path replica;
            if (remote.isPresent()) {
                String base = remote.get().path();
                replica = Path.of(intoDirectory ? (base.endsWith("/") ? base : base + "/")
                        + Path.of(source).getFileName() : base);
            } else {
                replica = intoDirectory ? path(destination).resolve(Path.of(source).getFileName()) : path(destination);
            }
            disks.add(new CycleRequest.Disk(options(source, replica, remote.isPresent()), view));
        }
        Optional<CycleRequest.Remote> host = remote.map(r -> new CycleRequest.Remote(r,
                ssh.options(bandwidthLimit == null ? 0 : bandwidthLimit, main.invocation()),
                sources.size() == 1 ? main.invocation().warmChannels() : Optional.empty()));
        PrintWriter err = spec.commandLine().getErr();
        Replication replication = new Replication(progress,
                line -> err.println("standin: " + line), // stale snapshots released: a crash left them
                Optional.of(SshRemoteShell.connector(ssh.options(0, main.invocation()))));
        List<DiskOutcome> outcomes = replication.run(new CycleRequest(disks, host, false)).disks();
        if (outcomes.size() == 1) {
            return List.of(outcomes.get(0).orThrow());
        }
        List<SyncStats> done = new ArrayList<>();
        List<DiskOutcome> failed = new ArrayList<>();
        for (DiskOutcome outcome : outcomes) {
            if (outcome.succeeded()) {
                done.add(outcome.stats().get());
            } else {
                failed.add(outcome);
            }
        }
        if (failed.isEmpty()) {
            return done;
        }
        for (SyncStats result : done) {
            report(result);
        }
        StringBuilder message = new StringBuilder(failed.size() + " of " + sources.size() + " disks failed:");
        for (DiskOutcome f : failed) {
            message.append(' ').append(f.source()).append(": ").append(f.failure().get().getMessage()).append(';');
        }
        throw new StandinException(failed.get(0).failure().get().status(), message.substring(0, message.length() - 1));
    }

    private Path path(String text) {
        return main.invocation().resolve(text);
    }

    /**
     * Jackson's first serialization of the stats costs ~0.3 s in a fresh JVM (measured: 2.0 s
     * cycles took 2.3 s with --json); it is prepared on another thread while the cycle runs.
     */
    private static CompletableFuture<ObjectMapper> prepareJson() {
        return CompletableFuture.supplyAsync(() -> {
            ObjectMapper mapper = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
            mapper.canSerialize(SyncStats.class); // builds and caches the serializer
            return mapper;
        });
    }

    private void report(SyncStats result) throws StandinException {
        if (!result.pointsDropped().isEmpty()) {
            // Always said, not only with -v: recovery points are what an operator counts on.
            spec.commandLine().getErr().println("standin: " + result.destination() + " no longer held its newest "
                    + "recovery point (it was changed outside standin); " + (result.dryRun() ? "a sync would drop" : "dropped")
                    + " point" + (result.pointsDropped().size() == 1 ? " " : "s ") + StatsReport.ids(result.pointsDropped())
                    + ", which depended on it, and " + (result.dryRun() ? "would repair" : "repaired") + " it from "
                    + result.source());
        }
        if (verbose && result.recovery() != CycleRecovery.NONE) {
            spec.commandLine().getErr().println("standin: journal left by an interrupted run was " + result.recovery());
        }
        if (json) {
            try {
                spec.commandLine().getOut().println(jsonMapper.join().writeValueAsString(result));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new StandinException(ExitStatus.ERROR, "cannot write JSON: " + e.getMessage(), e);
            }
        }
        if (stats) {
            StatsReport.print(result, spec.commandLine().getOut());
        }
    }
}
