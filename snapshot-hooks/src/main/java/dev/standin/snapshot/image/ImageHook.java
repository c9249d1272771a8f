package dev.standin.snapshot.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.SharedTake;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import dev.standin.snapshot.nbd.NbdExport;
import dev.standin.snapshot.nbd.QemuNbdServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code image[:FORMAT]}: stopped disk images, in any format QEMU reads (raw, qcow2, vmdk, ...),
 * each viewed as the guest sees it through {@code qemu-nbd --read-only}. The server's image lock
 * is the snapshot: while it is held no QEMU can open the image to write, so neither the VM nor a
 * unit that restarts it changes the disk under the cycle; an image a running VM holds is refused,
 * with QEMU's lock message. Without FORMAT, {@code qemu-img info} probes each image; name it for
 * a raw image a guest writes (a guest can write a header that probing takes for another format).
 * Nothing is tracked: each cycle reads the whole image and sends what differs.
 */
public final class ImageHook implements SnapshotHook {

    public static final String KIND = "image";
    /** Where each take's sockets and pid files live (short: a UNIX socket path has 107 bytes). */
    public static final Path RUNTIME = Path.of("/run/standin/image");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Optional<String> format;
    private final HookContext context;

    public ImageHook(Optional<String> format, HookContext context) {
        this.format = format;
        this.context = context;
    }

    @Override
    public String kind() {
        return KIND;
    }

    /** Every disk of the cycle with this spec, each served by its own qemu-nbd. */
    @Override
    public int disks() {
        return ANY;
    }

    @Override
    public Snapshot take(Path source, String replicaKey) throws SnapshotException {
        return takeAll(List.of(source), List.of(replicaKey)).get(0);
    }

    @Override
    public List<Snapshot> takeAll(List<Path> sources, List<String> replicaKeys) throws SnapshotException {
        for (Path source : sources) {
            if (!Files.exists(source)) {
                throw new SnapshotException("image " + source + " is not there", true);
            }
        }
        String id = StaleSnapshots.newId();
        Path directory = RUNTIME.resolve(id);
        StaleSnapshots.Entry entry;
        try {
            entry = context.registry().record(id, KIND, Map.of("directory", directory.toString()));
        } catch (IOException e) {
            throw new SnapshotException("cannot record the image snapshot: " + e.getMessage(), false, e);
        }
        try {
            Files.createDirectories(RUNTIME);
            Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            SharedTake take = new SharedTake(sources.size(), () -> release(entry));
            List<Snapshot> snapshots = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                Path source = sources.get(i);
                String name = "disk" + i;
                NbdExport export;
                try {
                    export = QemuNbdServer.serve(context.runner(), context.stepTimeout(), directory, name, source,
                            format.isPresent() ? format.get() : probe(source));
                } catch (IOException e) {
                    throw new SnapshotException(unserved(source, e.getMessage()), false, e);
                }
                context.checkpoints().reached("image.served");
                snapshots.add(take.view(source, export, Tracking.untracked("a stopped image is read whole")));
            }
            return snapshots;
        } catch (SnapshotException | IOException | InterruptedException | RuntimeException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            SnapshotException failure = e instanceof SnapshotException s ? s : new SnapshotException("image snapshot "
                    + "failed: " + e.getMessage(), false, e);
            try {
                release(entry);
            } catch (SnapshotException releaseFailure) {
                failure.addSuppressed(releaseFailure);
            }
            throw failure;
        }
    }

    /** The image's format as {@code qemu-img info} probes it (which also fails on an image a VM holds). */
    private String probe(Path source) throws IOException, InterruptedException, SnapshotException {
        CommandRunner.Result info = context.runner().check(List.of("qemu-img", "info", "--output=json", source.toString()),
                context.stepTimeout());
        JsonNode format = JSON.readTree(info.stdout()).path("format");
        if (!format.isTextual()) {
            throw new SnapshotException("qemu-img info names no format for " + source, true);
        }
        return format.asText();
    }

    /** Why {@code source} could not be served, QEMU's lock message said in words. */
    private static String unserved(Path source, String message) {
        return "image " + source + (message.contains("lock") ? " is in use: a VM still runs on it, or another process "
                + "holds it (" : " cannot be served (") + message + ")";
    }

    private void release(StaleSnapshots.Entry entry) throws SnapshotException {
        Path directory = Path.of(entry.field("directory"));
        QemuNbdServer.stopAll(directory);
        try {
            QemuNbdServer.remove(directory);
            context.registry().remove(entry);
        } catch (IOException e) {
            throw new SnapshotException("cannot remove " + directory + ": " + e.getMessage(), false, e);
        }
    }

    @Override
    public void releaseStale(StaleSnapshots.Entry entry) throws SnapshotException {
        release(entry);
    }
}
