package dev.standin.snapshot.nbd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real {@code qemu-nbd} serving one image read-only on a UNIX socket, for as long as the test holds it. */
final class QemuNbd implements AutoCloseable {

    final NbdExport export;
    private final Process process;

    private QemuNbd(NbdExport export, Process process) {
        this.export = export;
        this.process = process;
    }

    /** Serves {@code image} ({@code format}) as export {@code name}, with {@code bitmap} (a persistent one) if not null. */
    static QemuNbd serve(Path image, String format, String name, String bitmap) throws Exception {
        Path socket = image.resolveSibling(name + ".sock");
        List<String> command = new ArrayList<>(List.of("qemu-nbd", "--socket=" + socket, "--format=" + format,
                "--read-only", "--persistent", "--shared=8", "--export-name=" + name));
        if (bitmap != null) {
            command.add("--bitmap=" + bitmap);
        }
        command.add(image.toString());
        Path log = image.resolveSibling(name + ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(socket)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IOException("qemu-nbd did not start: " + Files.readString(log));
            }
            Thread.sleep(10);
        }
        return new QemuNbd(new NbdExport(socket, name), process);
    }

    void signal(String name) throws Exception {
        new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
    }

    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
