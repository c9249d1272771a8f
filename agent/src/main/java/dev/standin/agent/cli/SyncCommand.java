package dev.standin.agent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.sync.LocalSync;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.delta.stream.Compression;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code standin sync SOURCE DEST}. */
@Command(
        name = "sync",
        mixinStandardHelpOptions = true,
        description = {
            "Makes DEST a byte-identical copy of SOURCE, writing only the blocks that differ.",
            "SOURCE and DEST are image files or block devices; DEST may not exist yet. "
                    + "The update is atomic: if the run is interrupted, DEST keeps its previous content "
                    + "and the next run finishes or discards what was left."
        },
        sortOptions = false)
final class SyncCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "Image file or block device to copy from.")
    private Path source;

    @Parameters(index = "1", paramLabel = "DEST", description = "Image file or block device to update.")
    private Path destination;

    @Option(names = {"-B", "--block-size"}, paramLabel = "BYTES",
            description = "Block size, a power of two from 4096 to 1048576 (suffixes K, M). "
                    + "Default: the smallest that keeps the image at or under 2^20 blocks.",
            converter = SizeConverter.class)
    private int blockSize;

    @Option(names = "--compress", paramLabel = "CODEC", defaultValue = "none",
            description = "Compression of the delta stream: none, lz4 or zstd (default: ${DEFAULT-VALUE}; "
                    + "a local copy has no wire to save).")
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

    @Option(names = "--no-drop-cache", negatable = false,
            description = "Keep what is read in the page cache (by default it is dropped so that guests keep theirs).")
    private boolean keepCache;

    @Option(names = "--no-idle-io", negatable = false,
            description = "Read at normal I/O priority (by default the reader uses the idle class).")
    private boolean normalIo;

    @Option(names = "--threads", paramLabel = "N", description = "Hashing threads (default: the number of cores).")
    private int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/standin",
            description = "Where journals and recovery points of block device destinations are kept "
                    + "(default: ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Option(names = "--keep-points", paramLabel = "N", defaultValue = "" + SyncOptions.DEFAULT_KEEP_POINTS,
            description = "Recovery points to keep, oldest removed first; 0 keeps none (default: ${DEFAULT-VALUE}).")
    private int keepPoints;

    @Override
    public Integer call() throws StandinException, InterruptedException {
        SyncOptions options = SyncOptions.builder(source, destination)
                .blockSize(blockSize)
                .compression(Compression.parse(compression))
                .dryRun(dryRun)
                .dropCache(!keepCache)
                .idleIo(!normalIo)
                .threads(threads)
                .stateDirectory(stateDirectory)
                .keepPoints(keepPoints)
                .build();
        Progress progress = showProgress && System.console() != null ? new TerminalProgress() : Progress.NONE;
        if (verbose) {
            progress = new VerboseProgress(progress, spec.commandLine().getErr());
        }
        SyncStats result = new LocalSync(options, progress).run();
        if (verbose && !"none".equals(result.recovery())) {
            spec.commandLine().getErr().println("standin: journal left by an interrupted run was " + result.recovery());
        }
        if (json) {
            try {
                spec.commandLine().getOut().println(new ObjectMapper()
                        .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS).writeValueAsString(result));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new StandinException(ExitStatus.ERROR, "cannot write JSON: " + e.getMessage(), e);
            }
        }
        if (stats) {
            StatsReport.print(result, spec.commandLine().getOut());
        }
        return ExitStatus.OK.code();
    }
}
