package dev.standin.agent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.DiskOutcome;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.replica.Point;
import dev.standin.agent.replica.PointStore;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.agent.transport.RemoteVerify;
import dev.standin.agent.verify.Scrub;
import dev.standin.agent.verify.ScrubOptions;
import dev.standin.agent.verify.ScrubReport;
import dev.standin.agent.verify.VerifyResult;
import dev.standin.delta.stream.Compression;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code standin verify DEST [--against SOURCE]}: scrub a replica, and repair it from its source. */
@Command(
        name = "verify",
        mixinStandardHelpOptions = true,
        description = {
            "Re-reads DEST (scrub) and compares every block with what the last sync recorded, "
                    + "to find drift and bit rot that a sync does not see.",
            "Without --against, drifted blocks are reported (exit status 6) and the record is deleted, "
                    + "so the next sync re-reads DEST and rewrites them. With --against SOURCE, DEST is "
                    + "repaired at once by a sync from SOURCE that uses the scrub's reading of DEST."
        },
        sortOptions = false)
final class VerifyCommand implements Callable<Integer> {

    @picocli.CommandLine.ParentCommand
    private Main main;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DEST",
            description = "Replica to verify: an image file or block device, here or on another host "
                    + "([user@]host:PATH, ssh://[user@]host[:port]/PATH), where the scrub then runs.")
    private String destinationText;

    @Mixin
    private SshMixin ssh;

    @Option(names = "--against", paramLabel = "SOURCE",
            description = "Repair DEST from SOURCE now: rewrite every block that drifted or differs from SOURCE.")
    private Path source;

    @Option(names = {"-B", "--block-size"}, paramLabel = "BYTES", converter = SizeConverter.class,
            description = "With --against: block size of the repairing sync (default: the record's, so blocks "
                    + "can be compared).")
    private int blockSize;

    @Option(names = "--progress", description = "Show a progress bar with rate and ETA (on a terminal only).")
    private boolean showProgress;

    @Option(names = "--json", description = "Print the result as one JSON object on stdout instead of a summary.")
    private boolean json;

    @Option(names = {"-v", "--verbose"}, description = "Say what is happening on stderr.")
    private boolean verbose;

    @Mixin
    private ReadingMixin reading;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/standin",
            description = "Where journals for block device replicas are kept (default: ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Override
    public Integer call() throws StandinException, InterruptedException {
        if (source == null && blockSize != 0) {
            throw new IllegalArgumentException("--block-size applies only with --against (a scrub uses the record's)");
        }
        PrintWriter err = spec.commandLine().getErr();
        Progress progress = showProgress && main.invocation().terminal() ? new TerminalProgress(main.invocation()) : Progress.NONE;
        VerboseProgress verboseProgress = null;
        if (verbose) {
            progress = verboseProgress = new VerboseProgress(progress, err);
        }
        Optional<RemoteLocation> remote = RemoteLocation.parse(destinationText);
        VerifyResult result = remote.isPresent() ? verifyRemote(remote.get(), progress) : verifyLocal(progress);
        if (verboseProgress != null) {
            verboseProgress.succeeded();
        }
        if (verbose && !"none".equals(result.scrub().recovery())) {
            err.println("standin: journal left by an interrupted run was " + result.scrub().recovery());
        }
        if (json) {
            try {
                spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(result));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new StandinException(ExitStatus.ERROR, "cannot write JSON: " + e.getMessage(), e);
            }
        } else {
            VerifyReport.print(result, spec.commandLine().getOut());
        }
        if (result.replicaGood()) {
            return ExitStatus.OK.code();
        }
        ScrubReport s = result.scrub();
        if (s.compared()) {
            List<Long> lost = remote.isPresent() ? List.of() : pointsReadingTheReplica();
            err.printf("standin: %s drifted from its last commit in %d blocks (%s, %d ranges); the next sync or "
                    + "'standin verify --against SOURCE' rewrites them%s%n", s.replica(), s.blocksDrifted(),
                    StatsReport.bytes(s.bytesDrifted()), s.driftedRanges().size() + s.rangesOmitted(),
                    lost.isEmpty() ? "" : " and drops recovery point" + (lost.size() == 1 ? " " : "s ")
                            + StatsReport.ids(lost) + ", which are restored from the replica's content");
        } else {
            err.printf("standin: %s cannot be verified: %s%n", s.replica(), s.recordDetail());
        }
        err.flush();
        return ExitStatus.VERIFY.code();
    }

    /** What a repair of this drifted replica drops (the same rule a sync applies, PointStore#lostWith). */
    private List<Long> pointsReadingTheReplica() {
        try {
            return PointStore.locate(main.invocation().resolve(destinationText), stateDirectory, NativeIo.tryLoad())
                    .readingTheReplica().stream().map(Point::id).toList();
        } catch (IOException e) {
            return List.of(); // the points' own damage is reported by 'points' and by the repairing sync
        }
    }

    private VerifyResult verifyLocal(Progress progress) throws StandinException, InterruptedException {
        Path destination = main.invocation().resolve(destinationText);
        ScrubOptions scrubOptions = ScrubOptions.defaults().withThreads(reading.threads()).withIdleIo(reading.idleIo())
                .withDropCache(reading.dropCache()).withStateDirectory(stateDirectory);
        Scrub scrub = new Scrub(scrubOptions, progress);
        if (source == null) {
            return VerifyResult.of(scrub.scrub(destination));
        }
        return repair(syncOptions(destination, Compression.NONE), Optional.empty(), progress);
    }

    /** The scrub runs on the replica's host; with --against, inside a cycle that repairs from SOURCE. */
    private VerifyResult verifyRemote(RemoteLocation remote, Progress progress)
            throws StandinException, InterruptedException {
        if (source == null) {
            return VerifyResult.of(RemoteVerify.run(remote, ssh.options(0, main.invocation())));
        }
        return repair(syncOptions(Path.of(remote.path()), Compression.LZ4),
                Optional.of(new CycleRequest.Remote(remote, ssh.options(0, main.invocation()), Optional.empty())), progress);
    }

    /** A cycle from SOURCE whose replica signatures come from a scrub, so that every drifted block is rewritten. */
    private VerifyResult repair(SyncOptions options, Optional<CycleRequest.Remote> remote, Progress progress)
            throws StandinException, InterruptedException {
        DiskOutcome outcome = new Replication(progress, line -> { }, Optional.empty())
                .run(new CycleRequest(List.of(new CycleRequest.Disk(options, Optional.empty())), remote, true)).disks()
                .get(0);
        SyncStats stats = outcome.orThrow();
        return VerifyResult.repaired(outcome.scrub().orElse(null), stats);
    }

    private SyncOptions syncOptions(Path destination, Compression compression) {
        return SyncOptions.builder(source, destination)
                .blockSize(blockSize)
                .compression(compression)
                .dropCache(reading.dropCache())
                .idleIo(reading.idleIo())
                .threads(reading.threads())
                .stateDirectory(stateDirectory)
                .build();
    }
}
