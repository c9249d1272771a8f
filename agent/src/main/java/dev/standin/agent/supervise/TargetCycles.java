package dev.standin.agent.supervise;

import dev.standin.agent.Units;
import dev.standin.agent.engine.CycleReport;
import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.DiskOutcome;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.failover.Failover;
import dev.standin.agent.failover.Virsh;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.agent.transport.RemoteBootCheck;
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.agent.transport.SshOptions;
import dev.standin.agent.transport.SshRemoteShell;
import dev.standin.agent.transport.WarmChannels;
import dev.standin.agent.verify.ScrubReport;
import dev.standin.agent.vm.QemuLaunch;
import dev.standin.delta.stream.Compression;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.libvirt.DomainXml;
import dev.standin.snapshot.libvirt.LibvirtHook;
import dev.standin.supervisor.CycleProgress;
import dev.standin.supervisor.CycleResult;
import dev.standin.supervisor.CycleRunner;
import dev.standin.supervisor.catalog.Catalog;
import dev.standin.supervisor.config.SettingCheck;
import dev.standin.supervisor.config.SupervisorConfig;
import dev.standin.supervisor.config.SupervisorConfig.Disk;
import dev.standin.supervisor.config.SupervisorConfig.SyncSettings;
import dev.standin.supervisor.config.SupervisorConfig.Target;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import dev.standin.supervisor.policy.BootOutcome;
import dev.standin.supervisor.policy.Outcome;
import dev.standin.supervisor.policy.Planner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The supervisor's cycles, run through the engine's one entry point ({@link Replication#run}):
 * a target's settings become the request {@code standin sync} would make, and the disks'
 * outcomes become one {@link CycleResult}, transient or permanent by
 * {@link StandinException#isPermanent()} (the one place that decides it).
 */
public final class TargetCycles implements CycleRunner {

    private final Path stateDir;
    private final Consumer<String> notices;
    private final Optional<WarmChannels> warmChannels;

    public TargetCycles(Path stateDir, Consumer<String> notices, Optional<WarmChannels> warmChannels) {
        this.stateDir = stateDir;
        this.notices = notices;
        this.warmChannels = warmChannels;
    }

    /** Checks the values the file hands to cycles with the parsers {@code standin sync} uses. */
    public static final SettingCheck CHECK = (key, value) -> {
        try {
            switch (key) {
                case "dest" -> {
                    Optional<RemoteLocation> remote = RemoteLocation.parse(value);
                    if (remote.isEmpty() && !Path.of(value).isAbsolute()) {
                        return Optional.of("a local directory is an absolute path, not " + value);
                    }
                }
                case "source", "identity", "known-hosts" -> {
                    if (!Path.of(value).isAbsolute()) {
                        return Optional.of("an absolute path, not " + value);
                    }
                }
                case "ssh-config" -> {
                    if (!value.equals("none") && !Path.of(value).isAbsolute()) {
                        return Optional.of("an absolute path or none, not " + value);
                    }
                }
                case "snapshot" -> SnapshotSpec.parse(value);
                case "compress" -> {
                    if (!value.equals("auto")) {
                        Compression.parse(value);
                    }
                }
                case "block-size" -> SyncOptions.builder(Path.of("/s"), Path.of("/d")).blockSize(Units.size(value))
                        .build();
                case "threads" -> SyncOptions.builder(Path.of("/s"), Path.of("/d")).threads(Integer.parseInt(value))
                        .build();
                case "keep-points" -> {
                    if (Integer.parseInt(value) < 0) {
                        return Optional.of("a number of points, 0 or more, not " + value);
                    }
                }
                case "timeout" -> Units.timeout(value);
                case "bwlimit" -> {
                    if (!value.equals("0")) {
                        Units.rate(value);
                    }
                }
                default -> {
                    // remote-standin: any command
                }
            }
            return Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.of("'" + value + "' is not a whole number");
        } catch (RuntimeException e) {
            return Optional.of(e.getMessage());
        }
    };

    @Override
    public CycleResult run(Vm vm, Target target, Planner.Kind kind, String bwlimit, CycleProgress progress)
            throws InterruptedException {
        long rate = bwlimit.equals("0") ? 0 : Units.rate(bwlimit);
        SshOptions ssh = ssh(target.settings(), rate);
        if (kind == Planner.Kind.BOOT_CHECK) {
            return bootCheck(vm, target, ssh);
        }
        Replication engine = new Replication(new Progress() {
            @Override
            public void phase(String name, long total) {
                progress.phase(name, total);
            }

            @Override
            public void done(long bytes) {
                progress.done(bytes);
            }
        }, notices, Optional.of(SshRemoteShell.connector(ssh)));
        CycleRequest request;
        try {
            request = request(vm, target, kind == Planner.Kind.VERIFY, rate, ssh, definition(vm));
        } catch (StandinException e) {
            return CycleResult.failed(e.isPermanent() ? Outcome.PERMANENT : Outcome.TRANSIENT, e.getMessage());
        }
        return result(engine.run(request));
    }

    /**
     * One cycle of the stopped {@code vm} to {@code target}, every disk read through {@code view}
     * (its stopped-disk spec: the libvirt domain's, or an {@code image:} one): a planned move's last
     * cycle. The engine's report, with the VM point it recorded.
     */
    public CycleReport lastCycle(Vm vm, Target target, java.util.function.Function<Path, String> view)
            throws StandinException, InterruptedException {
        Optional<String> definition = definition(vm);
        List<Disk> stopped = disks(vm, definition).stream().map(d -> new Disk(d.source(),
                Optional.of(view.apply(Path.of(d.source()))))).toList();
        Vm viewed = new Vm(vm.name(), stopped, vm.targets(), vm.qemu(), vm.libvirt());
        SshOptions ssh = ssh(target);
        return new Replication(Progress.NONE, notices, Optional.of(SshRemoteShell.connector(ssh)))
                .run(request(viewed, target, false, 0, ssh, definition));
    }

    private static String libvirtView(SupervisorConfig.Libvirt domain) {
        return LibvirtHook.spec(domain.domain(), domain.uri()).toString();
    }

    /** How the target's host is reached, for a command run by hand that goes there (a planned move). */
    public static SshOptions ssh(Target target) {
        return ssh(target.settings(), 0);
    }

    @Override
    public List<String> recover(List<Vm> vms, List<Path> replicaRoots) {
        List<String> lines = new ArrayList<>();
        for (Path root : replicaRoots) {
            lines.addAll(Replication.recoverReplicas(root, stateDir));
        }
        for (Vm vm : vms) {
            for (Target target : vm.targets()) {
                SshOptions ssh = ssh(target.settings(), 0);
                CycleRequest request;
                try {
                    request = request(vm, target, false, 0, ssh, vm.disks().isEmpty() ? definition(vm) : Optional.empty());
                } catch (StandinException e) {
                    lines.add(vm.name() + " " + target.dest() + ": its disks are not known now (" + e.getMessage()
                            + "); an interrupted cycle is finished by its next one");
                    continue;
                }
                new Replication(Progress.NONE, notices, Optional.of(SshRemoteShell.connector(ssh)))
                        .recover(request).forEach(line -> lines.add(vm.name() + " " + target.dest() + ": " + line));
            }
        }
        return lines;
    }

    /**
     * Starts the newest VM point on the target's host as a test failover (locally, or through its
     * receiver) and returns the verdict; a check that could not run is a failed cycle.
     */
    private CycleResult bootCheck(Vm vm, Target target, SshOptions ssh) throws InterruptedException {
        Optional<RemoteLocation> remote = RemoteLocation.parse(target.dest());
        try {
            if (remote.isPresent()) {
                RemoteBootCheck.Verdict v = RemoteBootCheck.run(inReplicas(remote.get(), vm.name()), ssh, vm.name(),
                        target.bootCheckTimeout());
                return CycleResult.checked(new BootOutcome(v.verdict(), v.vmPoint(), v.reason()));
            }
            Failover.Report report = new Failover(notices).run(Failover.Request.bootCheck(vm.name(),
                    Path.of(target.dest()), target.bootCheckTimeout(), stateDir,
                    vm.libvirt().map(SupervisorConfig.Libvirt::uri).orElse(Virsh.DEFAULT_URI)));
            return CycleResult.checked(new BootOutcome(report.verdict().text(), report.point(), report.reason()));
        } catch (StandinException e) {
            return CycleResult.failed(e.isPermanent() ? Outcome.PERMANENT : Outcome.TRANSIENT,
                    "boot check: " + e.getMessage());
        }
    }

    /**
     * The VM's libvirt domain definition as it is now, sent with this cycle's VM point so a change
     * to the VM (a NIC, more memory) reaches the replica host. A domain that is gone fails the cycle.
     */
    private static Optional<String> definition(Vm vm) throws StandinException {
        if (vm.libvirt().isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Virsh(vm.libvirt().get().uri()).definition(vm.libvirt().get().domain()));
        } catch (StandinException e) {
            throw new StandinException(ExitStatus.SOURCE, "VM " + vm.name() + "'s domain " + vm.libvirt().get().domain()
                    + ": " + e.getMessage(), e, true);
        }
    }

    /**
     * The VM's disks: as its configuration lists them, or, for a libvirt domain listed without
     * disks, the domain's own from {@code libvirt} (its definition now), viewed through libvirt.
     */
    public static List<Disk> disks(Vm vm, Optional<String> libvirt) throws StandinException {
        if (!vm.disks().isEmpty() || vm.libvirt().isEmpty()) {
            return vm.disks();
        }
        SupervisorConfig.Libvirt domain = vm.libvirt().get();
        String spec = libvirtView(domain);
        List<Disk> disks = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        List<DomainXml.Disk> found;
        try {
            found = DomainXml.parse(libvirt.orElseThrow()).disks();
        } catch (IllegalArgumentException e) {
            throw new StandinException(ExitStatus.SOURCE, "domain " + domain.domain() + "'s definition: " + e.getMessage(),
                    e);
        }
        for (DomainXml.Disk disk : found) {
            String source = disk.source().orElseThrow(() -> new StandinException(ExitStatus.USAGE, "disk " + disk.target()
                    + " of domain " + domain.domain() + " is a " + disk.type() + " disk, which standin cannot read; list "
                    + "the disks to protect under disks: of VM " + vm.name(), null, true));
            if (!names.add(Path.of(source).getFileName().toString())) {
                throw new StandinException(ExitStatus.USAGE, "two disks of domain " + domain.domain() + " have the file "
                        + "name " + Path.of(source).getFileName() + ", and a replica is named after its source; list "
                        + "them under disks: of VM " + vm.name() + " with a snapshot each", null, true);
            }
            disks.add(new Disk(source, Optional.of(spec)));
        }
        if (disks.isEmpty()) {
            throw new StandinException(ExitStatus.USAGE, "domain " + domain.domain() + " has no disk", null, true);
        }
        return disks;
    }

    /** The request {@code standin sync} would make for {@code vm}'s disks to {@code target}. */
    private CycleRequest request(Vm vm, Target target, boolean scrub, long rate, SshOptions ssh,
            Optional<String> libvirt) throws StandinException {
        SyncSettings s = target.settings();
        Optional<RemoteLocation> remote = RemoteLocation.parse(target.dest());
        List<CycleRequest.Disk> disks = new ArrayList<>();
        for (Disk disk : disks(vm, libvirt)) {
            String name = Path.of(disk.source()).getFileName().toString();
            Path replica = remote.isPresent() ? Path.of(directory(remote.get().path()) + name)
                    : Path.of(target.dest()).resolve(name);
            String codec = s.option("compress").orElse("auto");
            SyncOptions.Builder options = SyncOptions.builder(Path.of(disk.source()), replica)
                    .compression(Compression.parse(codec.equals("auto") ? (remote.isPresent() ? "zstd" : "none") : codec))
                    .stateDirectory(stateDir)
                    .readBytesPerSecond(remote.isPresent() ? 0 : rate);
            s.option("block-size").ifPresent(b -> options.blockSize(Units.size(b)));
            s.option("threads").ifPresent(t -> options.threads(Integer.parseInt(t)));
            s.option("keep-points").ifPresent(k -> options.keepPoints(Integer.parseInt(k)));
            disks.add(new CycleRequest.Disk(options.build(), disk.snapshot().map(SnapshotSpec::parse)));
        }
        Optional<CycleRequest.Remote> host = remote.map(r -> new CycleRequest.Remote(r, ssh,
                disks.size() == 1 ? warmChannels : Optional.empty()));
        return new CycleRequest(disks, host, scrub, Optional.of(new CycleRequest.Vm(vm.name(),
                vm.qemu().map(TargetCycles::launch), libvirt)));
    }

    /** How a replica host starts {@code qemu}'s VM, as its VM points carry it. */
    static QemuLaunch launch(SupervisorConfig.Qemu qemu) {
        return new QemuLaunch(qemu.memory(), qemu.cpus(), qemu.machine(), QemuLaunch.Firmware.parse(qemu.firmware()),
                qemu.nics().stream().map(n -> new QemuLaunch.Nic(n.bridge(), n.mac(), n.model())).toList());
    }

    /**
     * Whether a cycle to {@code target} could begin: its host reached with the target's key and
     * known_hosts, its receiver greeted. Empty for a local target. ({@code standin doctor})
     */
    public static Optional<dev.standin.agent.transport.Message.Hello> greet(Target target) throws StandinException {
        Optional<RemoteLocation> remote = RemoteLocation.parse(target.dest());
        if (remote.isEmpty()) {
            return Optional.empty();
        }
        RemoteLocation at = new RemoteLocation(remote.get().user(), remote.get().host(), remote.get().port(),
                directory(remote.get().path()));
        return Optional.of(dev.standin.agent.transport.SshDestination.greet(at, ssh(target.settings(), 0)));
    }

    /** A path in the directory of {@code vm}'s replicas on a remote target's host (no file of that name need exist). */
    static RemoteLocation inReplicas(RemoteLocation target, String vm) {
        return new RemoteLocation(target.user(), target.host(), target.port(), directory(target.path()) + vm);
    }

    private static String directory(String path) {
        return path.endsWith("/") ? path : path + "/";
    }

    private static SshOptions ssh(SyncSettings s, long rate) {
        SshOptions defaults = SshOptions.defaults();
        Optional<Path> config = s.option("ssh-config").map(c -> c.equals("none") ? Optional.<Path>empty()
                : Optional.of(Path.of(c))).orElse(defaults.sshConfig());
        return new SshOptions(s.option("identity").map(Path::of),
                s.option("known-hosts").map(Path::of).orElse(defaults.knownHosts()), config,
                s.option("remote-standin").orElse(defaults.remoteStandin()), defaults.connectTimeoutMillis(), rate,
                s.option("timeout").map(Units::timeout).orElse(defaults.ioTimeout()));
    }

    /**
     * All disks committed and the VM point recorded: ok. Else the first failure's kind, permanent
     * if any disk's is.
     */
    static CycleResult result(CycleReport report) {
        List<DiskOutcome> outcomes = report.disks();
        long read = 0;
        long sent = 0;
        boolean firstCopy = false;
        Optional<String> tracking = Optional.empty();
        List<Long> points = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        boolean permanent = false;
        boolean drifted = false;
        long checked = 0;
        long repaired = 0;
        boolean scrubbed = false;
        for (DiskOutcome o : outcomes) {
            if (o.succeeded()) {
                SyncStats st = o.stats().orElseThrow();
                read += st.bytesRead();
                sent += st.wireBytes();
                firstCopy |= st.firstCopy();
                points.add(st.point());
                if (tracking.isEmpty() && st.tracking() != null) {
                    tracking = Optional.of(st.tracking().toString());
                }
            } else {
                StandinException e = o.failure().orElseThrow();
                errors.add((outcomes.size() > 1 ? Path.of(o.source()).getFileName() + ": " : "") + e.getMessage());
                permanent |= e.isPermanent();
            }
            if (o.scrub().isPresent()) {
                ScrubReport r = o.scrub().get();
                scrubbed = true;
                checked += r.blocksChecked();
                if (r.blocksDrifted() > 0) {
                    drifted = true;
                    repaired += o.succeeded() ? r.blocksDrifted() : 0;
                }
            }
        }
        if (report.vmPointFailure().isPresent()) {
            StandinException e = report.vmPointFailure().get();
            errors.add("VM point: " + e.getMessage());
            permanent |= e.isPermanent();
        }
        Optional<Catalog.Scrub> scrub = scrubbed ? Optional.of(new Catalog.Scrub(checked, repaired, drifted))
                : Optional.empty();
        if (errors.isEmpty()) {
            return new CycleResult(Outcome.OK, firstCopy, read, sent, tracking, points, Optional.empty(), false, scrub);
        }
        return new CycleResult(permanent ? Outcome.PERMANENT : Outcome.TRANSIENT, firstCopy, read, sent, tracking,
                List.of(), Optional.of(String.join("; ", errors)), drifted, scrub);
    }
}
