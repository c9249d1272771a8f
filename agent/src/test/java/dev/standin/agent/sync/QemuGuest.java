package dev.standin.agent.sync;

import dev.standin.snapshot.qemu.QmpClient;
import dev.standin.snapshot.qemu.QmpException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real qemu-system-x86_64 with one virtio drive (raw or qcow2) (node {@code disk0}) and no OS, for the
 * {@code --snapshot qemu} cycle tests; the test writes to the running drive with HMP {@code qemu-io}
 * through a second QMP socket. (snapshot-hooks has its own for the hook's tests.)
 */
final class QemuGuest implements AutoCloseable {

    final Path socket;
    private final Process process;
    private final QmpClient qmp;

    private QemuGuest(Path socket, Process process, QmpClient qmp) {
        this.socket = socket;
        this.process = process;
        this.qmp = qmp;
    }

    static boolean installed() {
        return Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64")) && Files.isExecutable(Path.of("/usr/bin/qemu-img"));
    }

    static QemuGuest start(Path directory, Path image) throws Exception {
        return start(directory, image, "raw");
    }

    /** A VM whose drive is {@code image} in {@code format} (raw, qcow2). */
    static QemuGuest start(Path directory, Path image, String format) throws Exception {
        return start(directory, image, format, null);
    }

    /** With a second drive: node {@code disk1} on device {@code vd1}, a qcow2 image. */
    static QemuGuest start(Path directory, Path image, String format, Path secondQcow2) throws Exception {
        Path socket = directory.resolve("vm.qmp");
        Path testSocket = directory.resolve("test.qmp");
        List<String> command = new java.util.ArrayList<>(List.of("qemu-system-x86_64",
                "-machine", Files.isWritable(Path.of("/dev/kvm")) ? "q35,accel=kvm:tcg" : "q35,accel=tcg",
                "-m", "64", "-nodefaults", "-display", "none", "-no-user-config",
                "-qmp", "unix:" + socket + ",server=on,wait=off",
                "-qmp", "unix:" + testSocket + ",server=on,wait=off",
                "-blockdev", "driver=file,filename=" + image + ",node-name=disk0-file",
                "-blockdev", "driver=" + format + ",file=disk0-file,node-name=disk0",
                "-device", "virtio-blk-pci,drive=disk0,id=vd0"));
        if (secondQcow2 != null) {
            command.addAll(List.of("-blockdev", "driver=file,filename=" + secondQcow2 + ",node-name=disk1-file",
                    "-blockdev", "driver=qcow2,file=disk1-file,node-name=disk1", "-device", "virtio-blk-pci,drive=disk1,id=vd1"));
        }
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(directory.resolve("qemu.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(socket) && Files.exists(testSocket))) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("qemu did not start: " + Files.readString(directory.resolve("qemu.log")));
            }
            Thread.sleep(20);
        }
        return new QemuGuest(socket, process, QmpClient.connect(testSocket, Duration.ofSeconds(30)));
    }

    /** Writes through the guest's device, as the guest would, and flushes. */
    void write(long offset, int length, int pattern) throws QmpException {
        write("vd0", offset, length, pattern);
    }

    /** The same through device {@code device} ({@code vd0}, {@code vd1}). */
    void write(String device, long offset, int length, int pattern) throws QmpException {
        String out = qmp.human("qemu-io -d " + device + "/virtio-backend \"write -P " + pattern + " " + offset + " " + length
                + "\"");
        if (!out.isBlank()) {
            throw new QmpException("guest write failed: " + out, null);
        }
        qmp.human("qemu-io -d " + device + "/virtio-backend flush");
    }

    /**
     * The SHA-256 of the guest-visible bytes of a qcow2 image (read with QEMU's force-share, so the
     * running VM may hold it), converted to raw in {@code scratch}, which is deleted after.
     */
    static String guestDisk(Path image, Path scratch) throws Exception {
        Process convert = new ProcessBuilder("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", image.toString(),
                scratch.toString()).redirectErrorStream(true).start();
        String output = new String(convert.getInputStream().readAllBytes());
        if (convert.waitFor() != 0) {
            throw new IOException("qemu-img convert " + image + ": " + output);
        }
        try {
            return dev.standin.agent.Images.sha256(scratch);
        } finally {
            Files.delete(scratch);
        }
    }

    QmpClient qmp() {
        return qmp;
    }

    @Override
    public void close() throws InterruptedException {
        qmp.close();
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
