package dev.standin.snapshot.nbd;

import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.SnapshotException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * {@code qemu-nbd --read-only} serving an image that no VM has open, as the guest sees it. Its
 * image lock is what makes it a snapshot: while it is held no QEMU (or libvirt domain) can open
 * the image for writing. Each server forks into the background with a pid file in the take's own
 * directory, so a crashed agent's servers are found and stopped from that directory alone.
 */
public final class QemuNbdServer {

    private QemuNbdServer() {}

    /**
     * Serves {@code image} in {@code format} as export {@code name} on {@code directory/NAME.sock}; a
     * failure (the image locked by a running VM, not there, not of that format) names qemu-nbd's reason.
     */
    public static NbdExport serve(CommandRunner runner, Duration timeout, Path directory, String name, Path image,
            String format) throws IOException, InterruptedException {
        Path socket = directory.resolve(name + ".sock");
        runner.check(List.of("qemu-nbd", "--read-only", "--persistent", "--shared=16", "--fork",
                "--format=" + format, "--export-name=" + name, "--socket=" + socket,
                "--pid-file=" + directory.resolve(name + ".pid"), image.toString()), timeout);
        return new NbdExport(socket, name);
    }

    /** Stops each qemu-nbd whose pid file is in {@code directory}, and waits for it to let go of its image. */
    public static void stopAll(Path directory) throws SnapshotException {
        if (!Files.isDirectory(directory)) {
            return;
        }
        try (Stream<Path> files = Files.list(directory)) {
            for (Path pidFile : files.filter(f -> f.toString().endsWith(".pid")).toList()) {
                long pid = Long.parseLong(Files.readString(pidFile).strip());
                Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(p -> p.info().command()
                        .map(c -> c.endsWith("qemu-nbd")).orElse(false));
                if (process.isPresent()) {
                    process.get().destroy();
                    try {
                        process.get().onExit().get(10, TimeUnit.SECONDS);
                    } catch (TimeoutException e) {
                        process.get().destroyForcibly();
                    }
                }
            }
        } catch (IOException | NumberFormatException | ExecutionException e) {
            throw new SnapshotException("cannot stop the qemu-nbd servers of " + directory + ": " + e.getMessage(), false,
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SnapshotException("interrupted while stopping qemu-nbd in " + directory, false, e);
        }
    }

    /** Removes {@code directory} and what is in it, once its servers are stopped. */
    public static void remove(Path directory) throws IOException {
        try (Stream<Path> files = Files.exists(directory) ? Files.walk(directory) : Stream.empty()) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}
