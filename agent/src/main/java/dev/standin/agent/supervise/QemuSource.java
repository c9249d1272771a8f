package dev.standin.agent.supervise;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.image.DiskImage;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.image.ImageHook;
import dev.standin.snapshot.qemu.GuestAgent;
import dev.standin.snapshot.qemu.QmpClient;
import dev.standin.snapshot.qemu.QmpException;
import dev.standin.supervisor.config.SupervisorConfig.Disk;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A VM run by its own QEMU process, at the start of a planned move: reached through the QMP socket
 * (and guest agent socket) its disks' {@code qemu:} snapshot specs name. Its guest is asked to power
 * off through the guest agent ({@code guest-shutdown}), else the ACPI power button
 * ({@code system_powerdown}); the move waits for the QEMU process to end (found as the process
 * listening on the QMP socket) and reads the stopped images through the {@code image:} hook, in the
 * formats QEMU had them open in. After a failed move a QEMU that a failover started here is started
 * again; of any other standin does not know how it was started, so the message gives back its
 * systemd unit or command line.
 */
public final class QemuSource implements MoveSource {

    private static final Duration CONNECT = Duration.ofSeconds(10);

    private final Path monitor;
    private final Optional<Path> guestAgent;
    private final List<Path> disks;
    private final Optional<Restart> restart;
    private final Map<Path, String> formats = new HashMap<>();
    private Optional<ProcessHandle> process = Optional.empty();
    private String howItRan = "";

    private QemuSource(Path monitor, Optional<Path> guestAgent, List<Path> disks, Optional<Restart> restart) {
        this.monitor = monitor;
        this.guestAgent = guestAgent;
        this.disks = disks;
        this.restart = restart;
    }

    /** How a QEMU standin started itself is started again after a failed move. */
    @FunctionalInterface
    public interface Restart {
        void run() throws StandinException;
    }

    /**
     * The QEMU a failover started here ({@code monitor}, {@code guestAgent} in its run directory) on
     * {@code overlays}; standin knows how to start it again: {@code restart}.
     */
    public static QemuSource ofFailover(Path monitor, Path guestAgent, List<Path> overlays, Restart restart) {
        return new QemuSource(monitor, Optional.of(guestAgent), overlays, Optional.of(restart));
    }

    /**
     * The QEMU of {@code vm}, from its disks' {@code qemu:QMP_SOCKET:NODES[:GUEST_AGENT]} specs; a VM
     * whose disks name none (or two different monitors) is refused, saying what to do instead.
     */
    public static QemuSource of(Vm vm) throws StandinException {
        Optional<Path> monitor = Optional.empty();
        Optional<Path> guestAgent = Optional.empty();
        for (Disk disk : vm.disks()) {
            Optional<SnapshotSpec> spec = disk.snapshot().map(SnapshotSpec::parse).filter(s -> s.kind().equals("qemu"));
            if (spec.isEmpty()) {
                throw new StandinException(ExitStatus.USAGE, "--planned shuts VM " + vm.name() + " down through its "
                        + "QEMU monitor or libvirt, and its disk " + disk.source() + " names neither (snapshot: "
                        + "qemu:QMP_SOCKET:NODE, or 'libvirt: DOMAIN' for the VM); shut it down yourself, run 'standin run "
                        + vm.name() + " --wait', then 'standin failover " + vm.name() + "' on the replica host");
            }
            Path socket = Path.of(spec.get().args().get(0));
            if (monitor.isPresent() && !monitor.get().equals(socket)) {
                throw new StandinException(ExitStatus.USAGE, "the disks of VM " + vm.name() + " name two QEMU monitors ("
                        + monitor.get() + ", " + socket + "); --planned moves one VM");
            }
            monitor = Optional.of(socket);
            if (spec.get().args().size() > 2) {
                guestAgent = Optional.of(Path.of(spec.get().args().get(2)));
            }
        }
        return new QemuSource(monitor.orElseThrow(() -> new StandinException(ExitStatus.USAGE, "VM " + vm.name()
                + " has no disks")), guestAgent, vm.disks().stream().map(d -> Path.of(d.source())).toList(),
                Optional.empty());
    }

    @Override
    public String describe() {
        return process.map(p -> "QEMU process " + p.pid()).orElse("the QEMU of " + monitor);
    }

    /**
     * Whether QEMU answers on its monitor; if it does, every disk must be open in it (its format is
     * kept for the last cycle), and its process, unit and command line are found for later.
     */
    @Override
    public boolean running() throws StandinException {
        if (!Files.exists(monitor)) {
            return false;
        }
        JsonNode block;
        try (QmpClient qmp = QmpClient.connect(monitor, CONNECT)) {
            block = qmp.execute("query-block", null);
        } catch (QmpException e) {
            if (e.getMessage().contains("Connection refused")) {
                return false; // a socket file left by a QEMU that is gone
            }
            throw new StandinException(ExitStatus.SOURCE, e.getMessage(), e);
        }
        List<String> open = new ArrayList<>();
        for (JsonNode device : block) {
            JsonNode image = device.path("inserted").path("image");
            if (image.has("filename") && image.has("format")) {
                open.add(image.path("filename").asText());
                for (Path disk : disks) {
                    if (sameImage(disk, Path.of(image.path("filename").asText()))) {
                        formats.put(disk, image.path("format").asText());
                    }
                }
            }
        }
        for (Path disk : disks) {
            if (!formats.containsKey(disk)) {
                throw new StandinException(ExitStatus.USAGE, disk + " is not open in the QEMU at " + monitor
                        + " (its disks: " + String.join(", ", open) + "); nothing was stopped", null, true);
            }
        }
        process = listener(monitor);
        howItRan = process.map(QemuSource::howItRan).orElse("");
        return true;
    }

    @Override
    public void shutDown(Duration timeout) throws StandinException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String how = "the ACPI power button";
        Optional<String> agentFailure = Optional.empty();
        if (guestAgent.isPresent()) {
            try (GuestAgent agent = GuestAgent.connect(guestAgent.get(), CONNECT)) {
                agent.shutdown(Duration.ofSeconds(2));
                how = "its guest agent";
            } catch (QmpException e) {
                agentFailure = Optional.of(e.getMessage());
            }
        }
        String asked = how + agentFailure.map(f -> "; the guest agent did not take it: " + f).orElse("");
        try (QmpClient qmp = QmpClient.connect(monitor, CONNECT)) {
            if (!how.equals("its guest agent")) {
                qmp.execute("system_powerdown", null);
            }
            while (!qmp.execute("query-status", null).path("status").asText().equals("shutdown")) {
                if (System.nanoTime() > deadline) {
                    throw notStopped(timeout, asked);
                }
                Thread.sleep(500);
            }
            qmp.execute("quit", null); // QEMU started with -no-shutdown stays after its guest powered off
        } catch (QmpException monitorClosed) {
            // QEMU exits once its guest has powered off: its monitor goes with it
        }
        while (process.map(ProcessHandle::isAlive).orElseGet(this::monitorAnswers)) {
            if (System.nanoTime() > deadline) {
                throw notStopped(timeout, asked);
            }
            Thread.sleep(200);
        }
    }

    private StandinException notStopped(Duration timeout, String asked) {
        return new StandinException(ExitStatus.SOURCE, describe() + " did not shut down within " + timeout.toSeconds()
                + " s of being asked (through " + asked + "); nothing was moved, and the guest may still act on the "
                + "request. Shut it down yourself, then run --planned again");
    }

    private boolean monitorAnswers() {
        try (QmpClient qmp = QmpClient.connect(monitor, Duration.ofSeconds(2))) {
            return true;
        } catch (QmpException gone) {
            return false;
        }
    }

    /** Nothing here starts a QEMU by itself that standin knows of; a systemd unit is named for the operator. */
    @Override
    public boolean keepOff(Consumer<String> notices) {
        if (restart.isEmpty() && howItRan.startsWith("systemctl")) {
            notices.accept("QEMU ran under a systemd unit: disable it ('" + howItRan.replace("start", "disable")
                    + "') so that a reboot of this host does not start the VM next to its replica");
        }
        return false;
    }

    @Override
    public String stoppedView(Path source) {
        return ImageHook.KIND + Optional.ofNullable(formats.get(source)).map(f -> ":" + f).orElse("");
    }

    /** A QEMU standin started runs again; one it did not start is left off, and the line says how it ran. */
    @Override
    public String restore(boolean wasRunning, boolean keptOff) throws StandinException {
        if (!wasRunning) {
            return "nothing was moved: the VM was not running and stays so";
        }
        if (restart.isPresent()) {
            restart.get().run();
            return "nothing was moved: the VM runs here again";
        }
        return "nothing was moved, and the VM stays shut off here: standin does not start QEMU itself; start it as it "
                + "ran before" + (howItRan.isEmpty() ? "" : ": " + howItRan);
    }

    /**
     * The process listening on UNIX socket {@code path}: the listening socket's inode in
     * /proc/net/unix (flag {@code __SO_ACCEPTCON}; accepted connections show the same path), then the
     * process that holds it.
     */
    static Optional<ProcessHandle> listener(Path path) {
        try {
            Optional<String> inode = Files.readAllLines(Path.of("/proc/net/unix")).stream().skip(1)
                    .map(l -> l.trim().split("\\s+"))
                    .filter(f -> f.length >= 8 && f[3].equals("00010000") && f[7].equals(path.toString()))
                    .map(f -> f[6]).findFirst();
            if (inode.isEmpty()) {
                return Optional.empty();
            }
            String link = "socket:[" + inode.get() + "]";
            try (Stream<Path> processes = Files.list(Path.of("/proc"))) {
                for (Path p : processes.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                    try (Stream<Path> fds = Files.list(p.resolve("fd"))) {
                        if (fds.anyMatch(fd -> readLink(fd).equals(link))) {
                            return ProcessHandle.of(Long.parseLong(p.getFileName().toString()));
                        }
                    } catch (IOException gone) {
                        // ended meanwhile, or not ours to read
                    }
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static String readLink(Path fd) {
        try {
            return Files.readSymbolicLink(fd).toString();
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * {@code systemctl start UNIT} for the main process of a systemd service (its parent is systemd),
     * else its command line.
     */
    private static String howItRan(ProcessHandle process) {
        Path proc = Path.of("/proc", Long.toString(process.pid()));
        try {
            boolean underSystemd = process.parent().map(p -> p.pid() == 1).orElse(false);
            for (String line : underSystemd ? Files.readAllLines(proc.resolve("cgroup")) : List.<String>of()) {
                String unit = line.substring(line.lastIndexOf('/') + 1);
                if (unit.endsWith(".service")) {
                    return "systemctl start " + unit;
                }
            }
            byte[] cmdline = Files.readAllBytes(proc.resolve("cmdline"));
            return new String(cmdline, StandardCharsets.UTF_8).replace('\0', ' ').strip();
        } catch (IOException e) {
            return "";
        }
    }

    /** {@link DiskImage#sameImage}; a path that cannot be examined is no match. */
    private static boolean sameImage(Path a, Path b) {
        try {
            return DiskImage.sameImage(a, b);
        } catch (IOException e) {
            return false;
        }
    }
}
