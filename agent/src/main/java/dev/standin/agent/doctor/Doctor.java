package dev.standin.agent.doctor;

import dev.standin.agent.daemon.AgentDaemon;
import dev.standin.agent.daemon.AgentSocket;
import dev.standin.agent.failover.Virsh;
import dev.standin.agent.supervise.TargetCycles;
import dev.standin.agent.transport.Message;
import dev.standin.delta.StrongHash;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.qemu.QmpClient;
import dev.standin.snapshot.qemu.QmpException;
import dev.standin.supervisor.config.ConfigException;
import dev.standin.supervisor.config.ConfigReader;
import dev.standin.supervisor.config.SupervisorConfig;
import dev.standin.supervisor.config.SupervisorConfig.Disk;
import dev.standin.supervisor.config.SupervisorConfig.Target;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What this host needs for what its configuration asks, checked one thing at a time (package-info).
 * Every finding names the package that provides what is missing.
 */
public final class Doctor {

    /** How a finding counts: only {@link #MISSING} fails the examination. */
    public enum Verdict {
        OK("ok"), MISSING("MISSING"), NOTE("note");

        private final String word;

        Verdict(String word) {
            this.word = word;
        }

        public String word() {
            return word;
        }
    }

    /** One line of the examination: {@code subject} and what was found. */
    public record Finding(Verdict verdict, String subject, String detail) {
        @Override
        public String toString() {
            return String.format("%-8s %s: %s", verdict.word(), subject, detail);
        }
    }

    /** A tool, the package it comes from (Debian / RHEL), and what standin uses it for. */
    private record Tool(String command, String debian, String rhel, String use) {}

    private static final Tool QEMU_IMG = new Tool("qemu-img", "qemu-utils", "qemu-img", "qemu snapshots' overlays");
    private static final Tool QEMU_NBD = new Tool("qemu-nbd", "qemu-utils", "qemu-img",
            "reading stopped disk images (a shut-off domain, the image hook, a planned move)");
    private static final Tool LVCREATE = new Tool("lvcreate", "lvm2", "lvm2", "lvm snapshots");
    private static final Tool THIN_DELTA = new Tool("thin_delta", "thin-provisioning-tools",
            "device-mapper-persistent-data", "changed-block tracking of thin LVs");
    private static final Tool VIRSH = new Tool("virsh", "libvirt-clients", "libvirt-client", "libvirt hosts' VMs");
    private static final Tool SSH = new Tool("ssh", "openssh-client", "openssh-clients", "standin pair");
    private static final Tool CP = new Tool("cp", "coreutils", "coreutils", "the reflink probe");
    private static final long LOW_SPACE = 1L << 30;

    private final Path configFile;
    private final boolean configNamed;
    private final Map<String, String> environment;
    private final CommandRunner commands = new CommandRunner();

    /**
     * @param configFile the configuration to examine the host for
     * @param configNamed whether the user named it (a missing default file is no mistake: no VMs)
     * @param environment for PATH and the agent's socket
     */
    public Doctor(Path configFile, boolean configNamed, Map<String, String> environment) {
        this.configFile = configFile;
        this.configNamed = configNamed;
        this.environment = Map.copyOf(environment);
    }

    public List<Finding> examine() {
        List<Finding> findings = new ArrayList<>();
        findings.add(new Finding(Verdict.OK, "java", Runtime.version() + " (" + System.getProperty("java.vendor")
                + "; standin needs 17 or later)"));
        String hash = StrongHash.implementation();
        findings.add(hash.contains("libxxhash")
                ? new Finding(Verdict.OK, "libxxhash", "the block hash runs in " + hash)
                : new Finding(Verdict.MISSING, "libxxhash", "not found, the block hash runs in Java at a fraction of "
                        + "the speed; install libxxhash0 (RHEL: xxhash-libs)"));
        Optional<SupervisorConfig> config = config(findings);
        Set<Tool> used = new LinkedHashSet<>();
        config.ifPresent(c -> c.vms().forEach(vm -> {
            if (vm.libvirt().isPresent()) {
                used.add(VIRSH);
                used.add(QEMU_NBD); // a shut-off domain's disks
            }
            vm.disks().forEach(d -> d.snapshot().ifPresent(s -> {
                String kind = SnapshotSpec.parse(s).kind();
                if (kind.equals("qemu")) {
                    used.add(QEMU_IMG);
                    used.add(QEMU_NBD); // the last cycle of a planned move reads the stopped images
                } else if (kind.equals("image")) {
                    used.add(QEMU_IMG);
                    used.add(QEMU_NBD);
                } else if (kind.equals("lvm")) {
                    used.add(LVCREATE);
                    used.add(THIN_DELTA);
                } else if (kind.equals("libvirt")) {
                    used.add(VIRSH);
                    used.add(QEMU_NBD);
                }
            }));
        }));
        for (Tool tool : List.of(QEMU_IMG, QEMU_NBD, LVCREATE, THIN_DELTA, VIRSH, SSH)) {
            findings.add(tool(tool, used.contains(tool)));
        }
        config.ifPresent(c -> {
            findings.add(writable("state-dir", c.stateDir()));
            findings.add(reflinks(c.stateDir()));
            findings.add(agent(!c.vms().isEmpty()));
            for (Vm vm : c.vms()) {
                if (vm.libvirt().isPresent()) {
                    findings.add(domain(vm));
                }
                for (Disk disk : vm.disks()) {
                    findings.add(source(vm, disk));
                    disk.snapshot().map(SnapshotSpec::parse).filter(s -> s.kind().equals("qemu"))
                            .ifPresent(s -> findings.add(qmp(vm, Path.of(s.args().get(0)))));
                }
                for (Target target : vm.targets()) {
                    findings.add(target(vm, target));
                }
            }
        });
        return findings;
    }

    private Optional<SupervisorConfig> config(List<Finding> findings) {
        if (!Files.exists(configFile) && !configNamed) {
            findings.add(new Finding(Verdict.NOTE, "config", configFile + " does not exist: this host protects no VMs"));
            return Optional.empty();
        }
        try {
            SupervisorConfig config = ConfigReader.read(configFile, TargetCycles.CHECK);
            long targets = config.vms().stream().mapToLong(v -> v.targets().size()).sum();
            findings.add(new Finding(Verdict.OK, "config", configFile + ": " + config.vms().size() + " VM(s), " + targets
                    + " target(s)"));
            return Optional.of(config);
        } catch (ConfigException e) {
            findings.add(new Finding(Verdict.MISSING, "config", e.getMessage()));
            return Optional.empty();
        }
    }

    private Finding tool(Tool tool, boolean used) {
        Optional<Path> found = which(tool.command());
        if (found.isPresent()) {
            return new Finding(Verdict.OK, tool.command(), found.get().toString());
        }
        String advice = "not installed; install " + tool.debian() + " (RHEL: " + tool.rhel() + ") for " + tool.use();
        return used ? new Finding(Verdict.MISSING, tool.command(), advice + ", which the configuration uses")
                : new Finding(Verdict.NOTE, tool.command(), advice + " (the configuration uses none)");
    }

    private Optional<Path> which(String command) {
        String path = environment.getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin";
        for (String dir : path.split(":")) {
            if (!dir.isEmpty()) {
                Path candidate = Path.of(dir, command);
                if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    /** {@code dir} can be written (or made) by this user, with space left on its file system. */
    private static Finding writable(String subject, Path dir) {
        Path existing = nearestExisting(dir);
        if (existing == null || !Files.isWritable(existing)) {
            return new Finding(Verdict.MISSING, subject, dir + " cannot be written by this user");
        }
        long free = existing.toFile().getUsableSpace();
        String said = dir + (existing.equals(dir) ? "" : " (made at the first cycle)") + ", " + gib(free) + " free";
        return free < LOW_SPACE ? new Finding(Verdict.MISSING, subject, said + ": under 1 GiB") : new Finding(Verdict.OK,
                subject, said);
    }

    /** Whether the state dir's file system clones files (xfs, btrfs): tried, not guessed from its type. */
    private Finding reflinks(Path stateDir) {
        Path dir = nearestExisting(stateDir);
        if (dir == null) {
            return new Finding(Verdict.NOTE, "reflinks", stateDir + ": not tried, no part of it exists");
        }
        Path probe = dir.resolve(".standin-doctor-reflink");
        Path clone = dir.resolve(".standin-doctor-reflink.clone");
        try {
            Files.write(probe, new byte[4096]);
            CommandRunner.Result result = commands.run(List.of(which(CP.command()).map(Path::toString).orElse("cp"),
                    "--reflink=always", probe.toString(), clone.toString()), Duration.ofSeconds(10));
            return new Finding(Verdict.NOTE, "reflinks", dir + (result.ok() ? ": yes, its file system clones files"
                    : ": no, its file system does not clone files (xfs and btrfs do)"));
        } catch (IOException e) {
            return new Finding(Verdict.NOTE, "reflinks", dir + ": not tried: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Finding(Verdict.NOTE, "reflinks", "not tried: interrupted");
        } finally {
            probe.toFile().delete();
            clone.toFile().delete();
        }
    }

    private Finding agent(boolean needed) {
        Optional<Path> socket = AgentSocket.path(environment, System.getProperty("user.name"));
        if (socket.isPresent() && AgentDaemon.answers(socket.get())) {
            return new Finding(Verdict.OK, "agent", "listening on " + socket.get());
        }
        String said = "not running" + socket.map(s -> " on " + s).orElse("")
                + "; start it: systemctl enable --now standin-agent";
        return new Finding(needed ? Verdict.MISSING : Verdict.NOTE, "agent", said + (needed ? ""
                : " (the configuration protects no VMs yet)"));
    }

    private static Finding source(Vm vm, Disk disk) {
        Path source = Path.of(disk.source());
        String subject = vm.name() + " disk";
        if (!Files.exists(source)) {
            return new Finding(Verdict.MISSING, subject, source + " does not exist");
        }
        if (!Files.isReadable(source)) {
            return new Finding(Verdict.MISSING, subject, source + " cannot be read by this user");
        }
        return new Finding(Verdict.OK, subject, source + " readable");
    }

    /** The VM's libvirt domain as libvirt has it now, and the disks a cycle would protect. */
    private static Finding domain(Vm vm) {
        SupervisorConfig.Libvirt domain = vm.libvirt().orElseThrow();
        String subject = vm.name() + " domain";
        try {
            String xml = new Virsh(domain.uri()).definition(domain.domain());
            List<Disk> disks = TargetCycles.disks(vm, Optional.of(xml));
            return new Finding(Verdict.OK, subject, domain.domain() + " at " + domain.uri() + "; disks "
                    + String.join(", ", disks.stream().map(Disk::source).toList()));
        } catch (StandinException e) {
            return new Finding(Verdict.MISSING, subject, e.getMessage());
        }
    }

    /** A QMP socket that greets and takes commands: the VM runs and answers standin's snapshot requests. */
    private static Finding qmp(Vm vm, Path socket) {
        String subject = vm.name() + " QMP";
        if (!Files.exists(socket)) {
            return new Finding(Verdict.MISSING, subject, socket + " does not exist (is the VM running, with "
                    + "-qmp unix:" + socket + ",server=on,wait=off?)");
        }
        try (QmpClient client = QmpClient.connect(socket, Duration.ofSeconds(3))) {
            return new Finding(Verdict.OK, subject, socket + " greets as QMP");
        } catch (QmpException e) {
            return new Finding(Verdict.MISSING, subject, e.getMessage());
        }
    }

    private static Finding target(Vm vm, Target target) {
        String subject = vm.name() + " -> " + target.dest();
        try {
            Optional<Message.Hello> receiver = TargetCycles.greet(target);
            if (receiver.isPresent()) {
                return new Finding(Verdict.OK, subject, "reached with its key and pinned host key; "
                        + receiver.get().software() + " answers");
            }
        } catch (StandinException e) {
            return new Finding(Verdict.MISSING, subject, e.getMessage());
        }
        return writable(subject, Path.of(target.dest()));
    }

    /** {@code dir}, or the nearest of its parents that exists (where it would be made); null if none. */
    private static Path nearestExisting(Path dir) {
        Path existing = dir.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing;
    }

    private static String gib(long bytes) {
        return String.format("%.1f GiB", bytes / (double) (1L << 30));
    }

    /** The examination's verdict in one line. */
    public static String summary(List<Finding> findings) {
        long missing = findings.stream().filter(f -> f.verdict() == Verdict.MISSING).count();
        return missing == 0 ? "everything the configuration uses is here"
                : missing + " thing" + (missing == 1 ? "" : "s") + " the configuration uses " + (missing == 1 ? "is" : "are")
                        + " missing or unreachable";
    }
}
