package dev.standin.agent.failover;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.vm.QemuLaunch;
import dev.standin.agent.vm.Vmx;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.qemu.GuestAgent;
import dev.standin.snapshot.qemu.QmpClient;
import dev.standin.snapshot.qemu.QmpException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A VM run by QEMU directly (no libvirt), daemonized so that it outlives the command that started
 * it, with everything about it in one run directory: {@code qmp.sock} (the monitor),
 * {@code qga.sock} (the guest agent's port), {@code console.log} (the serial console) and
 * {@code qemu.pid}, and UEFI's variable store ({@code vars.fd}). A real failover's NICs are tap
 * devices QEMU makes, put on their bridges once it runs; a test has none, so that it never meets
 * the production network.
 */
public final class QemuMachine implements Machine {

    static final String QEMU = "qemu-system-x86_64";
    /** sun_path holds 108 bytes with its NUL. */
    private static final int SOCKET_PATH_MAX = 107;

    private final Path run;
    /** The watch's monitor connection: its events say how the boot went. */
    private QmpClient watching;

    private QemuMachine(Path run) {
        this.run = run;
    }

    /** The machine whose files are in {@code run} (started earlier, perhaps by another process). */
    public static QemuMachine in(Path run) {
        return new QemuMachine(run);
    }

    public Path run() {
        return run;
    }

    public Path monitor() {
        return run.resolve("qmp.sock");
    }

    public Path guestAgent() {
        return run.resolve("qga.sock");
    }

    @Override
    public Path console() {
        return run.resolve("console.log");
    }

    /** Where Debian (ovmf) and RHEL (edk2-ovmf) keep UEFI's code and its empty variable store. */
    private static final List<List<String>> OVMF = List.of(
            List.of("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
            List.of("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
            List.of("/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"));

    /**
     * Starts {@code disks} (qcow2 files, the first one boots) as VM {@code name}; returns once QEMU
     * runs. {@code withNics}: the launch spec's network cards, on their bridges (a real failover).
     */
    public static QemuMachine start(String name, QemuLaunch launch, List<Path> disks, Path run, boolean withNics)
            throws StandinException {
        return start(name, launch, disks, List.of(), run, withNics);
    }

    /**
     * As {@link #start(String, QemuLaunch, List, Path, boolean)}, with each disk on the controller
     * {@code places} gives it (an ESXi VM's, from its .vmx); none: virtio disks.
     */
    public static QemuMachine start(String name, QemuLaunch launch, List<Path> disks, List<Vmx.Disk> places, Path run,
            boolean withNics) throws StandinException {
        QemuMachine machine = new QemuMachine(run);
        List<String> taps = new ArrayList<>();
        if (withNics) {
            for (QemuLaunch.Nic nic : launch.nics()) {
                if (!Files.isDirectory(Path.of("/sys/class/net", nic.bridge(), "bridge"))) {
                    throw new StandinException(ExitStatus.DESTINATION, "VM " + name + "'s network card belongs on "
                            + "bridge " + nic.bridge() + ", which this host does not have (ip link add " + nic.bridge()
                            + " type bridge, with its uplink); nothing was started");
                }
                taps.add(tap(run, taps.size()));
            }
        }
        if (machine.guestAgent().toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8).length > SOCKET_PATH_MAX) {
            throw new StandinException(ExitStatus.DESTINATION, "the VM's sockets would be in " + run + ", a path too "
                    + "long for a UNIX socket; use a replica directory with a shorter path");
        }
        List<String> command = new ArrayList<>(List.of(QEMU, "-name", name + ",process=standin-" + name,
                "-machine", launch.machine() + ",accel=kvm:tcg", "-m", (launch.memory() >> 20) + "M",
                "-smp", Integer.toString(launch.cpus()), "-nodefaults", "-display", "none", "-vga", "std",
                "-device", "pvpanic-pci",
                "-serial", "file:" + machine.console(),
                "-qmp", "unix:" + machine.monitor() + ",server=on,wait=off",
                "-chardev", "socket,id=qga0,path=" + machine.guestAgent() + ",server=on,wait=off",
                "-device", "virtio-serial", "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
                "-daemonize", "-pidfile", machine.pidFile().toString()));
        command.addAll(diskOptions(disks, places));
        if (launch.firmware() == QemuLaunch.Firmware.UEFI) {
            List<String> ovmf = OVMF.stream().filter(f -> Files.isReadable(Path.of(f.get(0)))
                    && Files.isReadable(Path.of(f.get(1)))).findFirst().orElseThrow(() -> new StandinException(
                    ExitStatus.MISSING, "VM " + name + " boots with UEFI, and this host has no OVMF firmware (apt install "
                    + "ovmf; RHEL: edk2-ovmf)"));
            Path vars = run.resolve("vars.fd");
            try {
                Files.copy(Path.of(ovmf.get(1)), vars, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new StandinException(ExitStatus.DESTINATION, "cannot copy UEFI's variable store to " + vars + ": "
                        + e.getMessage(), e);
            }
            command.addAll(List.of("-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + ovmf.get(0),
                    "-drive", "if=pflash,format=raw,unit=1,file=" + vars.toAbsolutePath()));
        }
        if (taps.isEmpty()) {
            command.addAll(List.of("-nic", "none"));
        }
        for (int i = 0; i < taps.size(); i++) {
            QemuLaunch.Nic nic = launch.nics().get(i);
            command.addAll(List.of("-netdev", "tap,id=net" + i + ",ifname=" + taps.get(i) + ",script=no,downscript=no",
                    "-device", nic.model() + ",netdev=net" + i + ",mac=" + nic.mac().orElse(mac(name, i))));
        }
        run(command, Duration.ofSeconds(60), "start VM " + name);
        try {
            for (int i = 0; i < taps.size(); i++) {
                run(List.of("ip", "link", "set", "dev", taps.get(i), "master", launch.nics().get(i).bridge(), "up"),
                        Duration.ofSeconds(10), "put the VM's network card on bridge " + launch.nics().get(i).bridge());
            }
        } catch (StandinException e) {
            machine.stop();
            throw e;
        }
        return machine;
    }

    /**
     * Each disk's {@code -drive} (node {@code diskN}, so the VM's own monitor views it for a reverse)
     * and, for a placed disk, its controller (one per .vmx controller) and device; the first boots.
     */
    static List<String> diskOptions(List<Path> disks, List<Vmx.Disk> places) {
        List<String> options = new ArrayList<>();
        java.util.Set<String> controllers = new java.util.HashSet<>();
        for (int i = 0; i < disks.size(); i++) {
            String file = "file=" + disks.get(i).toAbsolutePath().toString().replace(",", ",,") + ",format=qcow2";
            if (places.isEmpty()) {
                options.addAll(List.of("-drive", file + ",if=virtio,node-name=" + node(i)));
                continue;
            }
            Vmx.Disk place = places.get(i);
            String drive = "drive" + i;
            String controller = place.bus() + place.controller();
            options.addAll(List.of("-drive", file + ",if=none,id=" + drive + ",node-name=" + node(i)));
            boolean added = controllers.add(controller);
            String device = switch (place.bus()) {
                case "scsi" -> {
                    if (added) {
                        options.addAll(List.of("-device", place.controllerModel() + ",id=" + controller));
                    }
                    yield "scsi-hd,drive=" + drive + ",bus=" + controller + ".0,scsi-id=" + place.unit();
                }
                case "sata" -> {
                    if (added) {
                        options.addAll(List.of("-device", "ich9-ahci,id=" + controller));
                    }
                    yield "ide-hd,drive=" + drive + ",bus=" + controller + "." + place.unit();
                }
                case "ide" -> "ide-hd,drive=" + drive + ",bus=ide." + place.controller() + ",unit=" + place.unit();
                default -> "nvme,drive=" + drive + ",serial=standin" + i;
            };
            options.addAll(List.of("-device", device + (i == 0 ? ",bootindex=0" : "")));
        }
        return options;
    }

    /** A tap device's name: unique to the run directory, within Linux's 15 characters. */
    static String tap(Path run, int index) {
        return String.format("stn%08x-%d", run.toAbsolutePath().toString().hashCode(), index);
    }

    /** A MAC address for a NIC the launch spec gives none: locally administered, the same for a VM each time. */
    static String mac(String vm, int index) {
        int h = (vm + "/" + index).hashCode();
        return String.format("52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
    }

    /** The format node of disk {@code index}: what a {@code qemu:} snapshot of the running VM names. */
    public static String node(int index) {
        return "disk" + index;
    }

    /** Creates a qcow2 overlay at {@code overlay} whose backing file is the raw image {@code base}. */
    public static void overlay(Path base, Path overlay) throws StandinException {
        run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base.toAbsolutePath().toString(),
                overlay.toString()), Duration.ofSeconds(60), "create the overlay " + overlay);
    }

    /** The process, while it runs. */
    @Override
    public Optional<ProcessHandle> process() {
        try {
            String text = Files.readString(pidFile()).strip();
            return ProcessHandle.of(Long.parseLong(text)).filter(ProcessHandle::isAlive);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    public QmpClient connect() throws QmpException {
        return QmpClient.connect(monitor(), Duration.ofSeconds(10));
    }

    /**
     * Stops the VM at once (a test VM, or one being cleaned up): QMP {@code quit}, else SIGTERM,
     * else SIGKILL. Returns whether a process was stopped.
     */
    @Override
    public boolean stop() {
        close();
        Optional<ProcessHandle> process = process();
        if (process.isEmpty()) {
            return false;
        }
        try (QmpClient qmp = connect()) {
            qmp.execute("quit", null);
        } catch (QmpException e) {
            process.get().destroy();
        }
        try {
            process.get().onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.get().destroyForcibly();
            try {
                process.get().onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // a process SIGKILL cannot end is the kernel's to report
            }
        }
        return true;
    }

    /** A monitor event or status that means the boot failed: pvpanic, an I/O error, a power-off. */
    @Override
    public Optional<String> failure() {
        if (watching == null) {
            try {
                watching = connect();
            } catch (QmpException e) {
                return process().isEmpty() ? Optional.of("QEMU is gone: " + e.getMessage()) : Optional.empty();
            }
        }
        for (JsonNode event : watching.eventsSoFar()) {
            switch (event.path("event").asText()) {
                case "GUEST_PANICKED":
                    return Optional.of("the guest kernel panicked (GUEST_PANICKED)");
                case "BLOCK_IO_ERROR":
                    return Optional.of("an I/O error on disk " + event.path("data").path("device").asText()
                            + event.path("data").path("node-name").asText() + " ("
                            + event.path("data").path("reason").asText("BLOCK_IO_ERROR") + ")");
                case "SHUTDOWN":
                    return Optional.of("the guest shut down or reset during its boot ("
                            + event.path("data").path("reason").asText() + ")");
                default:
                    break;
            }
        }
        try {
            String status = watching.execute("query-status", null).path("status").asText();
            if (status.equals("guest-panicked") || status.equals("io-error") || status.equals("internal-error")
                    || status.equals("shutdown")) {
                return Optional.of("QEMU reports the VM " + status);
            }
        } catch (QmpException e) {
            if (process().isEmpty()) {
                return Optional.of("QEMU is gone: " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** {@code block-stream} of each disk's node, one after the other, each awaited to its end. */
    @Override
    public void promote(List<Path> overlays) throws StandinException {
        try (QmpClient qmp = connect()) {
            for (int i = 0; i < overlays.size(); i++) {
                String job = "standin-promote-" + node(i);
                qmp.execute("block-stream", QmpClient.args().put("job-id", job).put("device", node(i)));
                JsonNode done = qmp.awaitEvent(e -> e.path("event").asText().equals("BLOCK_JOB_COMPLETED")
                        && job.equals(e.path("data").path("device").asText()), Duration.ofHours(24),
                        "the end of " + job);
                if (done.path("data").has("error")) {
                    throw new StandinException(ExitStatus.DESTINATION, "copying the replica's data into "
                            + overlays.get(i) + " failed: " + done.path("data").path("error").asText());
                }
            }
        } catch (QmpException e) {
            throw new StandinException(ExitStatus.DESTINATION, "promoting the VM: " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<String> askAgent() {
        try (GuestAgent agent = GuestAgent.connect(guestAgent(), Duration.ofSeconds(2))) {
            agent.ping();
            return Optional.of(describe(agent.osInfo()));
        } catch (QmpException e) {
            return Optional.empty(); // not up yet, or no agent in this guest
        }
    }

    /** How a guest agent's {@code guest-get-osinfo} names the system. */
    static String describe(JsonNode os) {
        String name = os.path("pretty-name").asText(os.path("name").asText("an operating system"));
        return name + " (kernel " + os.path("kernel-release").asText("?") + ")";
    }

    @Override
    public Optional<Path> screendump(Path file) {
        if (watching == null) {
            return Optional.empty();
        }
        try {
            Files.deleteIfExists(file);
            watching.execute("screendump", QmpClient.args().put("filename", file.toString()).put("format", "png"));
            return Files.exists(file) ? Optional.of(file) : Optional.empty();
        } catch (QmpException | IOException e) {
            return Optional.empty(); // evidence only: a VM without a display has none
        }
    }

    @Override
    public void close() {
        if (watching != null) {
            watching.close();
            watching = null;
        }
    }

    private Path pidFile() {
        return run.resolve("qemu.pid");
    }

    /** Runs a QEMU tool to its end; its messages (stderr, then stdout) as the failure. */
    private static void run(List<String> command, Duration limit, String what) throws StandinException {
        CommandRunner.Result result;
        try {
            result = new CommandRunner().run(command, limit);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.MISSING, "cannot " + what + ": " + command.get(0)
                    + " is not installed (apt install qemu-system-x86 qemu-utils)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StandinException(ExitStatus.INTERRUPTED, "interrupted while trying to " + what, e);
        }
        if (result.timedOut()) {
            throw new StandinException(ExitStatus.DESTINATION, "cannot " + what + ": " + command.get(0)
                    + " did not finish in " + limit.toSeconds() + " s");
        }
        if (!result.ok()) {
            String text = (result.stderr() + "\n" + result.stdout()).strip().replaceAll("\\s*\n\\s*", "; ");
            throw new StandinException(ExitStatus.DESTINATION, "cannot " + what + ": " + text);
        }
    }
}
