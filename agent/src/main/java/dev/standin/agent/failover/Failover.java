package dev.standin.agent.failover;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.standin.agent.replica.InUse;
import dev.standin.agent.replica.Journal;
import dev.standin.agent.replica.PointRestore;
import dev.standin.agent.replica.PointStore;
import dev.standin.agent.replica.RestorePlan;
import dev.standin.agent.sync.DestinationLock;
import dev.standin.agent.sync.Failures;
import dev.standin.agent.vm.VmPoint;
import dev.standin.agent.vm.VmPoints;
import dev.standin.agent.vm.Vmx;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.libvirt.LibvirtHook;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code standin failover}: starts a VM on the replica host from one of its VM points, on qcow2
 * overlays, so that no point is ever written (docs/failover.md). Every disk is first brought to
 * its last committed point (an interrupted commit finished), and while the VM exists its replicas
 * are marked {@link InUse}: no cycle writes them and no point is pruned from under it.
 */
public final class Failover {

    /** The run directory, beside the VM's points. */
    static final String RUN = "failover";
    /** A test VM's name is its VM's (or domain's) and this, so nobody takes it for the production VM. */
    public static final String TEST_SUFFIX = "-standin-test";
    static final String LAST_CHECK = "last-boot-check";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param point {@code latest}, a VM point id, or a time (ISO-8601, or local {@code YYYY-MM-DDTHH:MM}):
     *              the newest point at or before it
     * @param test no network, a boot check, then removed (unless {@code keep})
     * @param onlyIfItBoots a real failover that did not boot is stopped and removed again (a planned
     *                      move, whose source then starts again)
     */
    public record Request(String vm, List<Path> roots, String point, boolean test, boolean keep, BootRule rule,
            java.util.regex.Pattern prompt, Path stateDirectory, String libvirtUri, boolean onlyIfItBoots,
            java.util.Map<String, String> networks) {
        public Request {
            roots = List.copyOf(roots);
            networks = java.util.Map.copyOf(networks);
        }

        /**
         * {@code networks} maps an ESXi VM's port groups to this host's bridges, for a real failover
         * of a VM point that only carries the VM's .vmx.
         */
        public Request(String vm, List<Path> roots, String point, boolean test, boolean keep, BootRule rule,
                java.util.regex.Pattern prompt, Path stateDirectory, String libvirtUri,
                java.util.Map<String, String> networks) {
            this(vm, roots, point, test, keep, rule, prompt, stateDirectory, libvirtUri, false, networks);
        }

        public Request(String vm, List<Path> roots, String point, boolean test, boolean keep, BootRule rule,
                java.util.regex.Pattern prompt, Path stateDirectory) {
            this(vm, roots, point, test, keep, rule, prompt, stateDirectory, Virsh.DEFAULT_URI, java.util.Map.of());
        }

        /** A boot check: {@code vm}'s newest VM point in {@code directory}, started as a test and removed after. */
        public static Request bootCheck(String vm, Path directory, Duration timeout, Path stateDirectory,
                String libvirtUri) {
            return new Request(vm, List.of(directory), "latest", true, false, new BootRule(timeout, BootRule.AGENT_GRACE),
                    BootCheck.DEFAULT_PROMPT, stateDirectory, libvirtUri, java.util.Map.of());
        }

        /** A planned move's last step: VM point {@code point} in {@code directory} started for real, removed unless it boots. */
        public static Request plannedStart(String vm, Path directory, long point, Duration timeout, Path stateDirectory) {
            return new Request(vm, List.of(directory), Long.toString(point), false, false,
                    new BootRule(timeout, BootRule.AGENT_GRACE), BootCheck.DEFAULT_PROMPT, stateDirectory,
                    Virsh.DEFAULT_URI, true, java.util.Map.of());
        }
    }

    /** One disk of the started VM: its replica, the point, and what the overlay reads. */
    public record DiskUse(String replica, long point, Path backing, boolean materialised) { }

    /** What {@code failover --json} prints. */
    public record Report(String vm, long point, Instant time, BootVerdict verdict, String reason, double seconds,
            boolean test, boolean running, Optional<Long> pid, List<DiskUse> disks, Optional<String> os,
            Path run) {
        public Report {
            disks = List.copyOf(disks);
        }

        /** One JSON object: {@code failover --json}, and the receiver's answer to a boot check. */
        public String json() {
            ObjectNode o = JSON.createObjectNode().put("vm", vm).put("point", point).put("time", time.toString())
                    .put("verdict", verdict.text()).put("reason", reason).put("seconds", Math.round(seconds * 10) / 10.0)
                    .put("test", test).put("running", running);
            pid.ifPresent(p -> o.put("pid", p));
            os.ifPresent(s -> o.put("os", s));
            o.put("run", run.toString());
            var list = o.putArray("disks");
            for (DiskUse d : disks) {
                list.addObject().put("replica", d.replica()).put("point", d.point()).put("backing", d.backing().toString())
                        .put("materialised", d.materialised());
            }
            return o.toString();
        }
    }

    private final Consumer<String> notices;
    private final Optional<NativeIo> io;

    /** {@code notices}: one line for each thing done on the way that a person should hear of. */
    public Failover(Consumer<String> notices) {
        this.notices = notices;
        this.io = NativeIo.tryLoad();
    }

    public Report run(Request request) throws StandinException, InterruptedException {
        long started = System.nanoTime();
        VmPoints points = locate(request.vm(), request.roots());
        Path run = points.directory().resolve(RUN);
        refuseRunning(points, run);
        List<VmPoint> all = read(points);
        if (all.isEmpty()) {
            throw new StandinException(ExitStatus.DESTINATION, "VM " + request.vm() + " has no VM points in "
                    + points.replicas() + " yet: its first cycle has not finished");
        }
        List<DiskUse> uses = new ArrayList<>();
        VmPoint chosen = null;
        boolean marked = false;
        List<DestinationLock> locks = new ArrayList<>();
        try {
            // Locked while the point is chosen and its replicas marked: no cycle commits in between.
            for (VmPoint.Disk disk : all.get(all.size() - 1).disks()) {
                locks.add(lockAndReplay(points.replicas().resolve(disk.replica()), request.stateDirectory()));
            }
            chosen = choose(points, read(points), request);
            if (chosen.qemu().isEmpty() && chosen.libvirt().isEmpty() && chosen.vmx().isEmpty()) {
                throw new StandinException(ExitStatus.USAGE, "VM point " + chosen.id() + " of " + chosen.vm()
                        + " has no definition to start it from: add 'libvirt: DOMAIN' or 'qemu: { memory: 1G, cpus: 2 }'"
                        + " to " + chosen.vm() + " in standin.yaml on its source host; its next cycle records it");
            }
            Files.createDirectories(run);
            String holder = (request.test() ? "a test failover" : "the failover") + " of VM " + chosen.vm()
                    + " (point " + chosen.id() + ") since " + Instant.now();
            marked = true;
            for (VmPoint.Disk disk : chosen.disks()) {
                InUse.mark(points.replicas().resolve(disk.replica()), holder);
            }
            writeState(run, chosen, request.test(), request.networks());
            for (VmPoint.Disk disk : chosen.disks()) {
                uses.add(backing(points.replicas().resolve(disk.replica()), disk, run, request.stateDirectory()));
            }
        } catch (IOException e) {
            if (marked) {
                remove(points, run, chosen); // nothing started: the replicas receive cycles again
            }
            throw new StandinException(ExitStatus.DESTINATION, "failover of " + request.vm() + ": "
                    + Failures.reason(e), e);
        } catch (StandinException | RuntimeException e) {
            if (marked) {
                remove(points, run, chosen);
            }
            throw e;
        } finally {
            for (DestinationLock lock : locks) {
                try {
                    lock.close();
                } catch (IOException ignored) {
                    // the lock file stays; the next locker takes it over
                }
            }
        }
        List<Path> overlays = new ArrayList<>();
        try {
            for (DiskUse use : uses) {
                Path overlay = run.resolve(use.replica() + ".qcow2");
                QemuMachine.overlay(use.backing(), overlay);
                overlays.add(overlay);
            }
            Machine machine = start(chosen, request, uses, overlays, run);
            Optional<Long> pid = machine.process().map(ProcessHandle::pid);
            notices.accept("VM " + chosen.vm() + " started from VM point " + chosen.id() + " (" + chosen.time()
                    + ") as process " + pid.map(String::valueOf).orElse("?") + "; checking that it boots");
            BootCheck.Result check;
            try (machine) {
                check = new BootCheck(request.rule(), request.prompt()).watch(machine);
            }
            boolean running = request.test() ? request.keep()
                    : !(request.onlyIfItBoots() && check.verdict() == BootVerdict.FAILED);
            Report report = new Report(chosen.vm(), chosen.id(), chosen.time(), check.verdict(), check.reason(),
                    (System.nanoTime() - started) / 1e9, request.test(), running, running ? pid : Optional.empty(),
                    uses, check.operatingSystem(), run);
            keepEvidence(points, check, report);
            if (!running) {
                stop(run);
                remove(points, run, chosen);
            }
            return report;
        } catch (StandinException | InterruptedException | RuntimeException e) {
            stop(run);
            remove(points, run, chosen);
            throw e;
        }
    }

    /** Starts the VM: through libvirt from its replicated domain when the point has one, else with QEMU. */
    private Machine start(VmPoint point, Request request, List<DiskUse> uses, List<Path> overlays, Path run)
            throws StandinException {
        String qemuName = request.test() ? point.vm() + TEST_SUFFIX : point.vm();
        if (point.libvirt().isEmpty() && point.qemu().isPresent()) {
            if (request.test() && !point.qemu().get().nics().isEmpty()) {
                notices.accept("the test VM has no network card (VM " + point.vm() + " has "
                        + point.qemu().get().nics().size() + ")");
            }
            return QemuMachine.start(qemuName, point.qemu().get(), overlays, run, !request.test());
        }
        if (point.libvirt().isEmpty()) {
            Vmx.Launch launch;
            try {
                launch = Vmx.parse(point.vmx().orElseThrow()).launch(overlays.size(), request.networks(), !request.test(),
                        notices);
            } catch (IllegalArgumentException e) {
                throw new StandinException(ExitStatus.USAGE, "VM " + point.vm() + "'s .vmx (VM point " + point.id()
                        + "): " + e.getMessage() + "; nothing was started", e);
            }
            notices.accept("VM " + point.vm() + " starts from its ESXi .vmx: " + (launch.qemu().memory() >> 20) + " MiB, "
                    + launch.qemu().cpus() + " CPU, " + launch.qemu().firmware().text() + ", disks on "
                    + String.join(", ", launch.disks().stream().map(d -> d.slot() + " (" + d.controllerModel() + ")")
                    .toList()) + (launch.qemu().nics().isEmpty() ? ", no network card" : ", "
                    + String.join(", ", launch.qemu().nics().stream().map(n -> n.model() + " on " + n.bridge()).toList())));
            return QemuMachine.start(qemuName, launch.qemu(), overlays, launch.disks(), run, !request.test());
        }
        Virsh virsh = new Virsh(request.libvirtUri());
        String xml = point.libvirt().get();
        String original = LibvirtDomain.name(xml);
        String name = request.test() ? original + TEST_SUFFIX : original;
        java.util.Map<String, Path> byReplica = new java.util.LinkedHashMap<>();
        for (int i = 0; i < uses.size(); i++) {
            byReplica.put(uses.get(i).replica(), overlays.get(i).toAbsolutePath());
        }
        saveState(run, readState(run).put("domain", name).put("uri", virsh.uri()));
        Optional<String> isolated = Optional.empty();
        if (request.test()) {
            LibvirtMachine.ensureIsolatedNetwork(virsh);
            isolated = Optional.of(LibvirtMachine.ISOLATED);
        }
        String prepared = LibvirtDomain.prepare(xml, new LibvirtDomain.Changes(name, request.test(), byReplica,
                run.toAbsolutePath().resolve("console.log"), isolated), notices);
        return LibvirtMachine.start(virsh, name, prepared, run, request.test());
    }

    /** The machine a failover started in {@code run}, from the {@code state} it wrote there. */
    private static Machine machineIn(Path run, ObjectNode state) {
        if (state.has("domain")) {
            return new LibvirtMachine(new Virsh(state.path("uri").asText(Virsh.DEFAULT_URI)),
                    state.path("domain").asText(), run.resolve("console.log"));
        }
        return QemuMachine.in(run);
    }

    /** Stops whatever runs in {@code run}, and a test's isolated network when no other test uses it. */
    private static boolean stop(Path run) {
        ObjectNode state = readState(run);
        boolean stopped = machineIn(run, state).stop();
        if (state.has("domain") && state.path("test").asBoolean(false)) {
            LibvirtMachine.releaseIsolatedNetwork(new Virsh(state.path("uri").asText(Virsh.DEFAULT_URI)));
        }
        return stopped;
    }

    /**
     * Stops the VM a failover started and removes its overlays and marks. A failover that was not
     * a test holds what the VM wrote since: refused unless {@code discard}.
     */
    public List<String> cleanup(String vm, List<Path> roots, boolean discard) throws StandinException {
        VmPoints points = locate(vm, roots);
        Path run = points.directory().resolve(RUN);
        if (!Files.isDirectory(run)) {
            throw new StandinException(ExitStatus.USAGE, "VM " + vm + " is not failed over in " + points.replicas());
        }
        ObjectNode state = readState(run);
        boolean test = state.path("test").asBoolean(false);
        if (!test && !discard) {
            throw new StandinException(ExitStatus.USAGE, "VM " + vm + " was failed over for real: what it wrote since "
                    + "is only in " + run + "; add --discard to stop it and throw that away");
        }
        List<String> lines = new ArrayList<>();
        if (stop(run)) {
            lines.add("stopped VM " + vm);
        }
        VmPoint point;
        try {
            long id = state.path("point").asLong();
            point = read(points).stream().filter(p -> p.id() == id).findFirst().orElse(null);
        } catch (StandinException e) {
            point = null; // the marks of every recorded point are cleared instead
        }
        remove(points, run, point);
        lines.add("removed " + run + (point == null ? "" : " and the in-use marks of its " + point.disks().size()
                + " replica(s)"));
        return lines;
    }

    /**
     * A VM a failover started and that runs now: the VM point it started from, its overlays (in
     * the point's disk order, holding what it wrote since), and how to view its disks at one
     * instant while it runs ({@code view}, a {@code --snapshot} spec: its QEMU monitor, or its
     * libvirt domain), and that domain with its libvirt URI when libvirt runs it.
     */
    public record Running(VmPoint point, List<Path> overlays, SnapshotSpec view, Path run, Optional<String> domain,
            String libvirtUri) { }

    /**
     * Starts again, on the same overlays, the failed-over VM that {@code running} describes after it
     * was shut down (a planned reverse that did not complete): as the failover started it, without
     * a boot check.
     */
    public void restart(Running running) throws StandinException {
        if (running.domain().isPresent()) {
            throw new IllegalStateException("a failed-over domain is started again by libvirt, not here");
        }
        ObjectNode state = readState(running.run());
        java.util.Map<String, String> networks = new java.util.LinkedHashMap<>();
        state.path("networks").fields().forEachRemaining(e -> networks.put(e.getKey(), e.getValue().asText()));
        // What starting a QEMU reads of a request: a real failover, and its port groups' bridges.
        Request request = new Request(running.point().vm(), List.of(), Long.toString(running.point().id()), false, false,
                new BootRule(Duration.ZERO, BootRule.AGENT_GRACE), BootCheck.DEFAULT_PROMPT, running.run(),
                running.libvirtUri(), networks);
        try (Machine machine = start(running.point(), request, List.of(), running.overlays(), running.run())) {
            notices.accept("VM " + running.point().vm() + " runs again on its overlays as process "
                    + machine.process().map(p -> Long.toString(p.pid())).orElse("?"));
        }
    }

    /** The failed-over {@code vm} running under {@code roots}, started by a real failover. */
    public static Running running(String vm, List<Path> roots) throws StandinException {
        VmPoints points = locate(vm, roots);
        Path run = points.directory().resolve(RUN);
        ObjectNode state = readState(run);
        if (!Files.isDirectory(run) || machineIn(run, state).process().isEmpty()) {
            throw new StandinException(ExitStatus.USAGE, "VM " + vm + " is not running from a failover in "
                    + points.replicas() + " ('standin failover " + vm + "' starts it)");
        }
        if (state.path("test").asBoolean(false)) {
            throw new StandinException(ExitStatus.USAGE, "VM " + vm + " runs from a test failover; what a test writes "
                    + "is thrown away, not replicated back");
        }
        long id = state.path("point").asLong();
        VmPoint point = read(points).stream().filter(p -> p.id() == id).findFirst().orElseThrow(() ->
                new StandinException(ExitStatus.DESTINATION, "VM point " + id + " of " + vm + ", which the running "
                        + "VM started from, is no longer recorded"));
        List<Path> overlays = point.disks().stream().map(d -> run.resolve(d.replica() + ".qcow2")).toList();
        String uri = state.path("uri").asText(Virsh.DEFAULT_URI);
        if (state.has("domain")) {
            String domain = state.path("domain").asText();
            return new Running(point, overlays, LibvirtHook.spec(domain, uri), run, Optional.of(domain), uri);
        }
        return new Running(point, overlays, SnapshotSpec.parse("qemu:" + QemuMachine.in(run).monitor() + ":"
                + java.util.stream.IntStream.range(0, overlays.size()).mapToObj(QemuMachine::node)
                .collect(java.util.stream.Collectors.joining(","))), run, Optional.empty(), uri);
    }

    /**
     * Makes a real failover permanent: the running VM's overlays get every block they read from the
     * points' images (the VM runs on), so they are whole disks that need no replica. The replicas
     * stay marked in use: the VM is production here now, and a cycle from the old source would
     * only overwrite the last common point that replicating back needs.
     */
    public List<String> promote(String vm, List<Path> roots) throws StandinException {
        Running running = running(vm, roots);
        ObjectNode state = readState(running.run());
        if (state.path("promoted").asBoolean(false)) {
            return List.of("VM " + vm + " is promoted already: its disks are " + running.overlays());
        }
        machineIn(running.run(), state).promote(running.overlays());
        saveState(running.run(), state.put("promoted", true));
        List<String> lines = new ArrayList<>();
        running.overlays().forEach(o -> lines.add(o + " is a whole disk now"));
        lines.add("VM " + vm + " no longer reads its replicas; they stay as they were, and receive nothing");
        return lines;
    }

    /**
     * What {@code standin points VM} shows: the VM's points, oldest first, and the report of the
     * last boot check beside them (its verdict and VM point), if one ran.
     */
    public record Listing(List<VmPoint> points, Optional<com.fasterxml.jackson.databind.JsonNode> lastCheck) { }

    /** The VM points of {@code vm} under {@code roots}, with the last boot check's report. */
    public static Listing listing(String vm, List<Path> roots) throws StandinException {
        VmPoints points = locate(vm, roots);
        Path report = points.directory().resolve(LAST_CHECK).resolve("report.json");
        Optional<com.fasterxml.jackson.databind.JsonNode> lastCheck;
        try {
            lastCheck = Files.exists(report) ? Optional.of(JSON.readTree(report.toFile())) : Optional.empty();
        } catch (IOException e) {
            lastCheck = Optional.empty(); // evidence only
        }
        return new Listing(read(points), lastCheck);
    }

    /** The one directory under {@code roots} that holds VM points of {@code vm}. */
    static VmPoints locate(String vm, List<Path> roots) throws StandinException {
        if (!VmPoint.validName(vm)) {
            throw new StandinException(ExitStatus.USAGE, "'" + vm + "' is not a VM name (letters, digits, '.', '_', '-')");
        }
        if (roots.isEmpty()) {
            throw new StandinException(ExitStatus.USAGE, "no replica root to look for VM " + vm + " in: name one with "
                    + "--root DIR, or list them under replica-roots in standin.yaml");
        }
        List<VmPoints> found = new ArrayList<>();
        List<String> others = new ArrayList<>();
        for (Path root : roots) {
            try {
                for (VmPoints p : VmPoints.all(root)) {
                    if (p.vm().equals(vm)) {
                        found.add(p);
                    } else {
                        others.add(p.vm());
                    }
                }
            } catch (IOException e) {
                throw new StandinException(ExitStatus.DESTINATION, "replica root " + root + ": " + Failures.reason(e), e);
            }
        }
        if (found.isEmpty()) {
            throw new StandinException(ExitStatus.DESTINATION, "no VM " + vm + " under " + roots.stream()
                    .map(Path::toString).reduce((a, b) -> a + ", " + b).orElseThrow() + (others.isEmpty()
                    ? " (no VM has points there)" : "; there are: " + String.join(", ", others.stream().distinct()
                    .sorted().toList())));
        }
        if (found.size() > 1) {
            throw new StandinException(ExitStatus.USAGE, "VM " + vm + " has points in " + found.stream()
                    .map(p -> p.replicas().toString()).reduce((a, b) -> a + " and " + b).orElseThrow()
                    + "; name the one to start with --root");
        }
        return found.get(0);
    }

    /** The VM's points; a damaged record (or one of another version) is the failure, never skipped. */
    private static List<VmPoint> read(VmPoints points) throws StandinException {
        try {
            return points.list();
        } catch (IOException e) {
            throw new StandinException(ExitStatus.PROTOCOL, Failures.reason(e), e);
        }
    }

    private void refuseRunning(VmPoints points, Path run) throws StandinException {
        if (!Files.isDirectory(run)) {
            return;
        }
        ObjectNode state = readState(run);
        Optional<ProcessHandle> process = machineIn(run, state).process();
        if (process.isEmpty() && state.path("test").asBoolean(false)) {
            notices.accept("removing what an earlier test failover of " + points.vm() + " left in " + run);
            remove(points, run, null);
            return;
        }
        throw new StandinException(ExitStatus.USAGE, "VM " + points.vm() + " is already failed over"
                + (state.path("test").asBoolean(false) ? " for a test" : "") + " from point "
                + state.path("point").asText("?") + (process.map(p -> " (process " + p.pid() + ")").orElse(", stopped"))
                + "; 'standin failover --cleanup " + points.vm() + "' first");
    }

    private DestinationLock lockAndReplay(Path replica, Path stateDirectory) throws IOException, StandinException {
        if (!Files.isRegularFile(replica)) {
            throw new StandinException(ExitStatus.DESTINATION, "replica " + replica + " is gone");
        }
        DestinationLock lock = DestinationLock.acquire(replica);
        try {
            Optional<String> holder = InUse.holder(replica);
            if (holder.isPresent()) {
                throw new StandinException(ExitStatus.USAGE, "replica " + replica + " is in use by " + holder.get());
            }
            Journal.Recovery recovery = Journal.recover(Journal.pathFor(replica, false, stateDirectory), replica, false, io);
            if (recovery != Journal.Recovery.NONE) {
                notices.accept(replica + ": an interrupted cycle's journal was "
                        + dev.standin.agent.sync.CycleRecovery.of(recovery).text()
                        + " first; the replica is at its last committed point");
            }
            return lock;
        } catch (IOException | StandinException | RuntimeException e) {
            lock.close();
            if (e instanceof IOException io) {
                throw new StandinException(ExitStatus.DESTINATION, "replica " + replica + " cannot be made consistent: "
                        + Failures.reason(io) + "; nothing was started", io);
            }
            throw e;
        }
    }

    private VmPoint choose(VmPoints points, List<VmPoint> all, Request request) throws StandinException, IOException {
        String which = request.point();
        List<VmPoint> candidates;
        if (which.equals("latest")) {
            candidates = reversed(all);
        } else if (which.matches("[0-9]{1,18}")) {
            long id = Long.parseLong(which);
            candidates = all.stream().filter(p -> p.id() == id).toList();
            if (candidates.isEmpty()) {
                throw new StandinException(ExitStatus.USAGE, "VM " + request.vm() + " has no point " + id + "; it has "
                        + describe(all));
            }
        } else {
            Instant at = time(which);
            candidates = reversed(all).stream().filter(p -> !p.time().isAfter(at)).toList();
            if (candidates.isEmpty()) {
                throw new StandinException(ExitStatus.USAGE, "VM " + request.vm() + " has no point at or before "
                        + at + "; it has " + describe(all));
            }
        }
        List<String> reasons = new ArrayList<>();
        VmPoints.Check check = points.check(request.stateDirectory(), io);
        for (VmPoint p : candidates) {
            List<String> missing = check.missing(p);
            if (missing.isEmpty()) {
                return p;
            }
            reasons.add("point " + p.id() + ": " + String.join(", ", missing));
            if (!which.equals("latest")) {
                break; // a point asked for by id or time is that point, not an older one
            }
        }
        throw new StandinException(ExitStatus.DESTINATION, "no complete VM point of " + request.vm() + " to start: "
                + String.join("; ", reasons));
    }

    private static List<VmPoint> reversed(List<VmPoint> all) {
        return all.stream().sorted(Comparator.comparingLong(VmPoint::id).reversed()).toList();
    }

    private static Instant time(String text) throws StandinException {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                return LocalDateTime.parse(text.replace(' ', 'T')).atZone(ZoneId.systemDefault()).toInstant();
            } catch (DateTimeParseException e2) {
                throw new StandinException(ExitStatus.USAGE, "--point " + text + ": expected latest, a VM point id, or a "
                        + "time such as 2026-12-04T03:00 or 2026-12-04T03:00:00Z");
            }
        }
    }

    private static String describe(List<VmPoint> all) {
        return all.stream().map(p -> p.id() + " (" + p.time() + ")").reduce((a, b) -> a + ", " + b).orElse("none");
    }

    /** What {@code disk}'s overlay reads: the point's own image, or a copy of it made here. */
    private DiskUse backing(Path replica, VmPoint.Disk disk, Path run, Path stateDirectory) throws IOException {
        PointStore store = PointStore.locate(replica, stateDirectory, io);
        RestorePlan plan = store.plan(disk.point());
        if (plan.undos().isEmpty()) {
            return new DiskUse(disk.replica(), disk.point(), plan.base(), false);
        }
        Path copy = run.resolve(disk.replica() + ".point-" + disk.point());
        notices.accept("materialising point " + disk.point() + " of " + replica + " (" + plan.undos().size()
                + " undo file(s)) into " + copy);
        new PointRestore(io).materialise(plan, copy);
        return new DiskUse(disk.replica(), disk.point(), copy, true);
    }

    private static void writeState(Path run, VmPoint point, boolean test, java.util.Map<String, String> networks)
            throws StandinException {
        ObjectNode state = JSON.createObjectNode().put("vm", point.vm()).put("point", point.id()).put("test", test)
                .put("started", Instant.now().toString());
        networks.forEach(state.putObject("networks")::put);
        saveState(run, state);
    }

    /** {@code run/state.json}: what the failover started, read back by cleanup, promote and reverse. */
    private static void saveState(Path run, ObjectNode state) throws StandinException {
        Path file = run.resolve("state.json");
        try {
            Files.writeString(file, JSON.writeValueAsString(state) + "\n");
        } catch (IOException e) {
            throw new StandinException(ExitStatus.DESTINATION, "cannot write " + file + ": " + Failures.reason(e), e);
        }
    }

    private static ObjectNode readState(Path run) {
        try {
            return (ObjectNode) JSON.readTree(run.resolve("state.json").toFile());
        } catch (IOException | ClassCastException e) {
            return JSON.createObjectNode(); // a run directory whose start did not get as far as its state
        }
    }

    /**
     * The verdict, console and screendump of the last boot check, kept beside the VM's points
     * ({@code last-boot-check/}): the evidence outlives a test VM that is torn down.
     */
    private static void keepEvidence(VmPoints points, BootCheck.Result check, Report report) {
        Path kept = points.directory().resolve(LAST_CHECK);
        try {
            Files.createDirectories(kept);
            Files.writeString(kept.resolve("report.json"), report.json() + "\n");
            Files.copy(check.console(), kept.resolve("console.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.deleteIfExists(kept.resolve("screen.png"));
            if (check.screen().isPresent()) {
                Files.copy(check.screen().get(), kept.resolve("screen.png"));
            }
        } catch (IOException ignored) {
            // evidence only
        }
    }

    /** Removes the run directory and the marks on the point's replicas (all of the VM's when unknown). */
    private void remove(VmPoints points, Path run, VmPoint point) {
        try (Stream<Path> files = Files.exists(run) ? Files.walk(run) : Stream.empty()) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            notices.accept("could not remove " + run + ": " + Failures.reason(e));
        }
        try {
            List<VmPoint> known = point != null ? List.of(point) : points.list();
            for (VmPoint p : known) {
                for (VmPoint.Disk disk : p.disks()) {
                    InUse.clear(points.replicas().resolve(disk.replica()));
                }
            }
        } catch (IOException e) {
            notices.accept("could not clear the in-use marks of " + points.vm() + "'s replicas: " + Failures.reason(e));
        }
    }
}
