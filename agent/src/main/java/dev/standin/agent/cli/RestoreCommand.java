package dev.standin.agent.cli;

import dev.standin.agent.replica.Journal;
import dev.standin.agent.replica.JournalException;
import dev.standin.agent.replica.Point;
import dev.standin.agent.replica.PointFormatException;
import dev.standin.agent.replica.PointRestore;
import dev.standin.agent.replica.PointStore;
import dev.standin.agent.sync.DestinationLock;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code standin restore DEST@POINT TARGET}: materialises a recovery point. */
@Command(
        name = "restore",
        mixinStandardHelpOptions = true,
        description = {"Writes recovery point POINT of replica DEST to TARGET, a new file (made sparse) or, with "
                + "--force, an existing file or block device, and checks it against the point's image digest.",
            "A cycle of DEST that was interrupted while committing is finished first."},
        sortOptions = false)
final class RestoreCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DEST@POINT",
            description = "Replica and point: a point id as listed by 'standin points', or 'latest'.")
    private String pointSpec;

    @Parameters(index = "1", paramLabel = "TARGET", description = "File or block device to write.")
    private Path target;

    @Option(names = "--force", description = "Overwrite TARGET if it exists (a file is replaced atomically).")
    private boolean force;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/standin",
            description = "Where journals and points of block device replicas are kept (default: ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Override
    public Integer call() throws StandinException {
        int at = pointSpec.lastIndexOf('@');
        String which = at < 0 ? "" : pointSpec.substring(at + 1);
        if (at <= 0 || !(which.equals("latest") || which.matches("[0-9]{1,18}"))) {
            throw new StandinException(ExitStatus.USAGE, "expected DEST@POINT, where POINT is a point id or 'latest'; got '"
                    + pointSpec + "'");
        }
        Path destination = Path.of(pointSpec.substring(0, at));
        if (!Files.exists(destination)) {
            throw new StandinException(ExitStatus.DESTINATION, "replica " + destination + " does not exist");
        }
        if (Files.exists(target) && !force) {
            throw new StandinException(ExitStatus.USAGE, "target " + target + " exists; add --force to overwrite it");
        }
        Optional<NativeIo> io = NativeIo.tryLoad();
        try {
            if (Files.exists(target) && Files.isSameFile(target, destination)) {
                throw new StandinException(ExitStatus.USAGE, "target " + target + " is the replica itself");
            }
            PointStore store = storeOf(destination, stateDirectory, io);
            PointRestore.Result result;
            try (DestinationLock lock = DestinationLock.acquire(destination)) {
                // The replica is only consistent once an interrupted commit is finished (and its point settled).
                Journal.recover(Journal.pathFor(destination, store.blockDevice(), stateDirectory), destination,
                        store.blockDevice(), io);
                long id = which.equals("latest") ? latest(store.points(), destination) : Long.parseLong(which);
                result = new PointRestore(io).materialise(store.plan(id), target);
            }
            Point p = result.point();
            spec.commandLine().getOut().println("restored point " + p.id() + " (" + p.committed() + ", " + p.length()
                    + " bytes, image digest " + p.digestHex() + ") to " + target);
            return ExitStatus.OK.code();
        } catch (IllegalArgumentException e) {
            throw new StandinException(ExitStatus.USAGE, e.getMessage(), e);
        } catch (IOException e) {
            throw classify(e, destination);
        }
    }

    private static long latest(List<Point> points, Path destination) throws StandinException {
        return points.stream().filter(p -> !p.pending()).reduce((a, b) -> b).map(Point::id)
                .orElseThrow(() -> new StandinException(ExitStatus.USAGE, destination + " has no recovery points"));
    }

    static PointStore storeOf(Path destination, Path stateDirectory, Optional<NativeIo> io) throws IOException {
        return PointStore.locate(destination, stateDirectory, io);
    }

    /** Damaged point data → 6, another version → 5, anything else → 4; one line each. */
    static StandinException classify(IOException e, Path destination) {
        if (e instanceof PointFormatException f) {
            return new StandinException(f.otherVersion() ? ExitStatus.PROTOCOL : ExitStatus.VERIFY, e.getMessage(), e);
        }
        if (e instanceof JournalException) {
            return new StandinException(ExitStatus.PROTOCOL, "journal of " + destination + ": " + e.getMessage(), e);
        }
        return new StandinException(ExitStatus.DESTINATION, dev.standin.agent.sync.Failures.reason(e), e);
    }
}
