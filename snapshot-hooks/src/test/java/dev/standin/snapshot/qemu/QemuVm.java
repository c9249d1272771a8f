package dev.standin.snapshot.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real qemu-system-x86_64 with one virtio drive (raw or qcow2) (node {@code disk0}, device {@code vd0}) and
 * no OS: the firmware finds nothing to boot and idles, which is all the block layer needs. KVM when
 * /dev/kvm works, else TCG. Two QMP sockets: one for the hook under test, one for the test itself,
 * which writes to the running drive with HMP {@code qemu-io} as a guest would.
 */
final class QemuVm implements AutoCloseable {

    static final String NODE = "disk0";

    final Path image;
    final Path hookSocket;
    final Path testSocket;
    private final Process process;
    private final QmpClient qmp;

    private QemuVm(Path image, Path hookSocket, Path testSocket, Process process, QmpClient qmp) {
        this.image = image;
        this.hookSocket = hookSocket;
        this.testSocket = testSocket;
        this.process = process;
        this.qmp = qmp;
    }

    /** Skips the calling test class where QEMU is not installed. */
    static void assumeInstalled() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64"))
                && Files.isExecutable(Path.of("/usr/bin/qemu-img")),
                "qemu-system-x86_64 and qemu-img are not installed (install/setup-debian.sh installs them)");
    }

    static QemuVm start(Path directory, Path image) throws Exception {
        return start(directory, image, "raw");
    }

    /** A VM whose drive is {@code image} in {@code format} (raw, qcow2). */
    static QemuVm start(Path directory, Path image, String format) throws Exception {
        return start(directory, image, format, null);
    }

    /** With a second drive: node {@code disk1} on device {@code vd1}, a qcow2 image. */
    static QemuVm start(Path directory, Path image, String format, Path secondQcow2) throws Exception {
        Path hookSocket = directory.resolve("hook.qmp");
        Path testSocket = directory.resolve("test.qmp");
        List<String> command = new ArrayList<>(List.of("qemu-system-x86_64",
                "-machine", Files.isWritable(Path.of("/dev/kvm")) ? "q35,accel=kvm:tcg" : "q35,accel=tcg",
                "-m", "64", "-nodefaults", "-display", "none", "-no-user-config",
                "-qmp", "unix:" + hookSocket + ",server=on,wait=off",
                "-qmp", "unix:" + testSocket + ",server=on,wait=off",
                "-blockdev", "driver=file,filename=" + image + ",node-name=disk0-file,cache.direct=off",
                "-blockdev", "driver=" + format + ",file=disk0-file,node-name=" + NODE,
                "-device", "virtio-blk-pci,drive=" + NODE + ",id=vd0"));
        if (secondQcow2 != null) {
            command.addAll(List.of("-blockdev", "driver=file,filename=" + secondQcow2 + ",node-name=disk1-file",
                    "-blockdev", "driver=qcow2,file=disk1-file,node-name=disk1", "-device", "virtio-blk-pci,drive=disk1,id=vd1"));
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(directory.resolve("qemu.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(testSocket) && Files.exists(hookSocket))) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("qemu did not start: " + Files.readString(directory.resolve("qemu.log")));
            }
            Thread.sleep(20);
        }
        return new QemuVm(image, hookSocket, testSocket, process, QmpClient.connect(testSocket, Duration.ofSeconds(30)));
    }

    /** Writes {@code length} bytes of {@code pattern} at {@code offset} through the guest's device, as the guest would. */
    void guestWrite(long offset, int length, int pattern) throws QmpException {
        guestWrite("vd0", offset, length, pattern);
    }

    /** The same, through device {@code device} ({@code vd0}, {@code vd1}). */
    void guestWrite(String device, long offset, int length, int pattern) throws QmpException {
        String out = qmp.human("qemu-io -d " + device + "/virtio-backend \"write -P " + pattern + " " + offset + " " + length + "\"");
        // qemu-io prints its report on QEMU's stdout; the monitor returns only errors.
        if (!out.isBlank()) {
            throw new QmpException("guest write failed: " + out, null);
        }
    }

    /** Flushes the drive, so what the guest wrote is in the files (as after a guest fsync). */
    void guestFlush() throws QmpException {
        qmp.human("qemu-io -d vd0/virtio-backend flush");
    }

    /** The node names in the VM's block graph. */
    List<String> nodeNames() throws QmpException {
        List<String> names = new ArrayList<>();
        for (JsonNode node : qmp.execute("query-named-block-nodes", QmpClient.args().put("flat", true))) {
            names.add(node.path("node-name").asText());
        }
        return names;
    }

    /** The node the guest device writes to: {@code disk0} unless a snapshot overlay sits on top. */
    String deviceRoot() throws QmpException {
        return deviceRoot("vd0");
    }

    String deviceRoot(String device) throws QmpException {
        for (JsonNode block : qmp.execute("query-block", null)) {
            if (block.path("qdev").asText().contains(device)) {
                return block.path("inserted").path("node-name").asText();
            }
        }
        throw new QmpException("no " + device + " in query-block", null);
    }

    List<String> bitmaps() throws QmpException {
        return DriveNode.bitmaps(qmp, NODE);
    }

    List<JsonNode> bitmapInfo() throws QmpException {
        return DriveNode.bitmapInfo(qmp, NODE);
    }

    QmpClient qmp() {
        return qmp;
    }

    boolean running() throws QmpException {
        return qmp.execute("query-status", null).path("running").asBoolean();
    }

    /** SIGSTOP or SIGCONT: a hung QEMU that holds its images but answers nothing. */
    void signal(String name) throws Exception {
        new dev.standin.snapshot.CommandRunner().check(List.of("kill", "-" + name, Long.toString(process.pid())),
                Duration.ofSeconds(10));
    }

    /** A clean shutdown ({@code quit}): QEMU writes persistent bitmaps into a qcow2 image as it closes it. */
    void quit() throws Exception {
        try {
            qmp.execute("quit", null);
        } catch (QmpException e) {
            // the connection may close before the answer arrives
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IOException("qemu did not quit");
        }
        qmp.close();
    }

    /** SIGKILL: the VM is gone as after a host-side crash. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        qmp.close();
    }

    @Override
    public void close() {
        qmp.close();
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
