package dev.standin.snapshot.file;

import dev.standin.nativeio.Extent;
import dev.standin.nativeio.Freeze;
import dev.standin.nativeio.NativeFile;
import dev.standin.nativeio.NativeIo;
import dev.standin.nativeio.UnsupportedOperationIOException;
import dev.standin.snapshot.HeldSnapshot;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code file[:COPY_DIR]}: a point-in-time copy of an image file.
 * <ul>
 *   <li>Where the filesystem shares blocks (btrfs, xfs with reflink), a FICLONE clone beside the
 *       image: instant, and no space until the image is written again.
 *   <li>Elsewhere, the image's filesystem is frozen (FIFREEZE) for the length of a sparse copy into
 *       COPY_DIR (default {@code STATE_DIR/file}), which must be on another filesystem: writing the
 *       copy into the frozen one would wait for the thaw forever. A watchdog process thaws the
 *       filesystem if this process dies or the copy window exceeds the step timeout, so a crash
 *       cannot leave it frozen; a copy the watchdog cut short is refused.
 * </ul>
 * Either way the copy is deleted when the snapshot closes. No change tracking.
 */
public final class FileHook implements SnapshotHook {

    public static final String KIND = "file";

    private final Path copyDirectory;
    private final HookContext context;

    public FileHook(Path copyDirectory, HookContext context) {
        this.copyDirectory = copyDirectory != null ? copyDirectory : context.stateDirectory().resolve("file");
        this.context = context;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public Snapshot take(Path source, String replicaKey) throws SnapshotException {
        NativeIo io = context.io().orElseThrow(() -> new SnapshotException(
                "the file hook needs the native library (FICLONE, FIFREEZE), which did not load", true));
        if (!Files.isRegularFile(source)) {
            throw new SnapshotException("file hook: " + source + " is not a regular file", true);
        }
        String id = StaleSnapshots.newId();
        Path clone = source.toAbsolutePath().resolveSibling("." + id + "." + source.getFileName());
        StaleSnapshots.Entry entry = null;
        try {
            entry = context.registry().record(id, KIND, Map.of("copy", clone.toString(), "source", source.toString()));
            context.checkpoints().reached("file.recorded");
            if (reflink(io, source, clone)) {
                context.checkpoints().reached("file.cloned");
                return new FileSnapshot(this, entry, clone, "reflink");
            }
            Files.deleteIfExists(clone);
            Path copy = copyDirectory.resolve(id + "." + source.getFileName());
            Path mountPoint = mountPointOf(source);
            Files.createDirectories(copyDirectory);
            if (sameFilesystem(copyDirectory, source)) {
                throw new SnapshotException("file hook: " + source + " cannot be cloned (no reflink on its filesystem) and "
                        + "the copy directory " + copyDirectory + " is on the same filesystem, which is frozen while copying; "
                        + "name another with --snapshot file:COPY_DIR", true);
            }
            Map<String, String> fields = new HashMap<>(entry.fields());
            fields.put("copy", copy.toString());
            fields.put("frozen", mountPoint.toString());
            entry = context.registry().update(entry, fields);
            context.checkpoints().reached("file.freezing");
            frozenCopy(io, source, copy, mountPoint);
            context.checkpoints().reached("file.copied");
            return new FileSnapshot(this, entry, copy, "fsfreeze+copy");
        } catch (SnapshotException | IOException | InterruptedException | RuntimeException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            SnapshotException failure = e instanceof SnapshotException s ? s
                    : new SnapshotException("file snapshot of " + source + " failed: " + e.getMessage(), false, e);
            if (entry != null) {
                try {
                    release(entry, false);
                } catch (SnapshotException releaseFailure) {
                    failure.addSuppressed(releaseFailure);
                }
            }
            throw failure;
        }
    }

    private static boolean reflink(NativeIo io, Path source, Path clone) throws IOException {
        try (NativeFile from = io.open(source, false);
             FileChannel created = FileChannel.open(clone, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
             NativeFile to = io.open(clone, true)) {
            to.cloneFrom(from);
            return true;
        } catch (UnsupportedOperationIOException e) {
            return false;
        }
    }

    /**
     * Freezes, copies the allocated extents, thaws. The watchdog is started before the freeze
     * and told the mount point: {@code timeout} ends its wait on this JVM when the window is over,
     * {@code tail --pid} ends it when this JVM dies, and either way it runs {@code fsfreeze -u}.
     */
    private void frozenCopy(NativeIo io, Path source, Path copy, Path mountPoint)
            throws IOException, InterruptedException, SnapshotException {
        long window = Math.max(1, context.stepTimeout().toSeconds());
        Process watchdog = new ProcessBuilder("sh", "-c",
                "timeout \"$1\" tail --pid=\"$2\" -f /dev/null; exec fsfreeze --unfreeze \"$3\" 2>/dev/null",
                "standin-thaw-watchdog", Long.toString(window), Long.toString(ProcessHandle.current().pid()),
                mountPoint.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Freeze freeze = io.freeze(mountPoint);
            try {
                context.checkpoints().reached("file.frozen");
                copySparse(io, source, copy);
            } finally {
                try {
                    freeze.close();
                } catch (IOException thawFailed) {
                    // EINVAL from FITHAW: the watchdog thawed first, so the copy may have seen writes.
                    throw new SnapshotException("file hook: the copy of " + source + " took longer than the " + window
                            + " s freeze window; the filesystem was thawed and the copy is discarded", false, thawFailed);
                }
            }
        } finally {
            watchdog.descendants().forEach(ProcessHandle::destroyForcibly);
            watchdog.destroyForcibly();
        }
    }

    private static void copySparse(NativeIo io, Path source, Path copy) throws IOException {
        try (NativeFile from = io.open(source, false);
             FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long size = from.size();
            ByteBuffer buffer = ByteBuffer.allocateDirect(4 << 20);
            List<Extent> extents = from.dataExtents(0, size);
            for (Extent extent : extents) {
                for (long at = extent.offset(); at < extent.end(); ) {
                    buffer.clear().limit((int) Math.min(buffer.capacity(), extent.end() - at));
                    int n = in.read(buffer, at);
                    if (n < 0) {
                        throw new IOException(source + " ended at " + at + " while copying");
                    }
                    buffer.flip();
                    while (buffer.hasRemaining()) {
                        out.write(buffer, at + buffer.position());
                    }
                    at += n;
                }
            }
            out.truncate(size);
            if (out.size() < size) { // a trailing hole: extend without writing
                out.write(ByteBuffer.allocate(1), size - 1);
            }
        }
    }

    private static Path mountPointOf(Path file) throws IOException {
        Path path = file.toAbsolutePath().getParent();
        Object device = Files.getAttribute(path, "unix:dev");
        while (path.getParent() != null && device.equals(Files.getAttribute(path.getParent(), "unix:dev"))) {
            path = path.getParent();
        }
        return path;
    }

    private static boolean sameFilesystem(Path a, Path b) throws IOException {
        return Files.getAttribute(a, "unix:dev").equals(Files.getAttribute(b, "unix:dev"));
    }

    void release(StaleSnapshots.Entry entry, boolean stale) throws SnapshotException {
        try {
            String frozen = entry.fields().get("frozen");
            if (stale && frozen != null) {
                // A crash between freeze and thaw: the watchdog thaws, but do it again in case it was killed too.
                context.runner().run(List.of("fsfreeze", "--unfreeze", frozen), Duration.ofSeconds(30));
            }
            Files.deleteIfExists(Path.of(entry.field("copy")));
            context.registry().remove(entry);
        } catch (IOException e) {
            throw new SnapshotException("could not release file snapshot " + entry.id() + ": " + e.getMessage(), false, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SnapshotException("interrupted releasing file snapshot " + entry.id(), false, e);
        }
    }

    @Override
    public void releaseStale(StaleSnapshots.Entry entry) throws SnapshotException {
        release(entry, true);
    }

    /** The copy or clone; deleted on close. */
    private static final class FileSnapshot extends HeldSnapshot {
        private final FileHook hook;
        private final StaleSnapshots.Entry entry;

        FileSnapshot(FileHook hook, StaleSnapshots.Entry entry, Path view, String how) {
            super(view, Tracking.untracked("the file hook (" + how + ") does not track changes"));
            this.hook = hook;
            this.entry = entry;
        }

        @Override
        protected void release(String replicaDigest) throws SnapshotException {
            hook.release(entry, false);
        }
    }
}
