package dev.standin.agent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.failover.Failover;
import dev.standin.agent.replica.Journal;
import dev.standin.agent.replica.Point;
import dev.standin.agent.replica.PointStore;
import dev.standin.agent.sync.DestinationLock;
import dev.standin.agent.vm.VmPoint;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code standin points DEST}: the replica's recovery points, oldest first. */
@Command(
        name = "points",
        mixinStandardHelpOptions = true,
        description = {"Lists the recovery points of DEST, oldest first: id, commit time, length, kind, "
                + "bytes used and image digest. The newest is the replica's current content.",
            "Given a VM's name instead (on a replica host, with --root or the configuration's replica-roots), lists "
                + "its VM points: each disk's point from one instant, what starts it, and the last boot check."},
        sortOptions = false)
final class PointsCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DEST|VM", description = "Replica (image file or block device), or a VM.")
    private Path destination;

    @Mixin
    private ReplicaRootsMixin roots;

    @Option(names = "--json", description = "Print the points as one JSON object on stdout.")
    private boolean json;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/standin",
            description = "Where the points of block device replicas are kept (default: ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    /** The VM points of {@code vm} under {@code roots}, oldest first, each with its boot check if it had one. */
    static void listVmPoints(PrintWriter out, String vm, List<Path> roots, boolean json) throws StandinException {
        Failover.Listing listing = Failover.listing(vm, roots);
        var checked = listing.lastCheck();
        List<VmPoint> points = listing.points();
        ObjectMapper mapper = new ObjectMapper();
        var array = mapper.createArrayNode();
        if (!json) {
            out.printf("%6s  %-24s  %-22s  %-16s  %s%n", "ID", "TIME", "STARTS WITH", "BOOT CHECK",
                    "DISKS (replica@point)");
        }
        for (VmPoint p : points) {
            String boot = checked.filter(c -> c.path("point").asLong() == p.id()).map(c -> c.path("verdict").asText())
                    .orElse("-");
            String starts = p.libvirt().isPresent() ? "libvirt"
                    : p.qemu().map(q -> "qemu " + (q.memory() >> 20) + "M " + q.cpus() + " CPU")
                    .orElse(p.vmx().isPresent() ? "qemu (esxi .vmx)" : "nothing");
            if (json) {
                var o = array.addObject().put("id", p.id()).put("time", p.time().toString()).put("startsWith", starts)
                        .put("bootCheck", boot);
                var disks = o.putArray("disks");
                p.disks().forEach(d -> disks.addObject().put("replica", d.replica()).put("point", d.point())
                        .put("length", d.length()).put("digest", d.digestHex()));
            } else {
                out.printf("%6d  %-24s  %-22s  %-16s  %s%n", p.id(),
                        p.time().truncatedTo(java.time.temporal.ChronoUnit.SECONDS), starts, boot, p.disks());
            }
        }
        if (json) {
            out.println(mapper.createObjectNode().put("vm", vm).set("points", array).toString());
        }
    }

    /**
     * A cycle killed after its commit record and before the end of its replay left the replica a
     * mix of two points and its newest point pending: finish it first, as the next cycle would, so
     * the list is of the replica as it is. A cycle running now holds the lock and finishes its own.
     */
    private void finishInterruptedCommit(PointStore store, Optional<NativeIo> io) throws IOException {
        Path journal = Journal.pathFor(destination, store.blockDevice(), stateDirectory);
        if (!Files.exists(journal)) {
            return;
        }
        try (DestinationLock lock = DestinationLock.acquire(destination, Duration.ZERO)) {
            Journal.Recovery done = Journal.recover(journal, destination, store.blockDevice(), io);
            if (done == Journal.Recovery.REPLAYED) {
                spec.commandLine().getErr().println("standin: " + destination + ": finished the commit an interrupted "
                        + "cycle left (journal replayed)");
            }
        } catch (StandinException locked) {
            // a cycle is running on it and finishes its own commit
        }
    }

    @Option(names = "--definition", paramLabel = "ID", description = "With a VM: print the definition VM point ID "
            + "carries, as its source host had it (libvirt domain XML, or an ESXi VM's .vmx), to rebuild the VM by hand.")
    private Long definition;

    /** What VM point {@code id} of {@code vm} carries to start it: its libvirt XML or its .vmx. */
    private static String definitionOf(String vm, long id, List<Path> roots) throws StandinException {
        VmPoint point = Failover.listing(vm, roots).points().stream().filter(p -> p.id() == id).findFirst()
                .orElseThrow(() -> new StandinException(ExitStatus.USAGE, "VM " + vm + " has no VM point " + id));
        return point.libvirt().or(point::vmx).orElseThrow(() -> new StandinException(ExitStatus.USAGE, "VM point " + id
                + " of " + vm + " carries no definition" + point.qemu().map(q -> " (it starts from its qemu: launch "
                + "spec)").orElse("")));
    }

    @Override
    public Integer call() throws StandinException {
        PrintWriter out = spec.commandLine().getOut();
        if (definition != null) {
            String text = definitionOf(destination.toString(), definition, roots.roots());
            out.print(text.endsWith("\n") ? text : text + "\n");
            return ExitStatus.OK.code();
        }
        if (!Files.exists(destination) && VmPoint.validName(destination.toString())) {
            listVmPoints(out, destination.toString(), roots.roots(), json);
            return ExitStatus.OK.code();
        }
        if (!Files.exists(destination)) {
            throw new StandinException(ExitStatus.DESTINATION, "replica " + destination + " does not exist");
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        boolean pending;
        try {
            Optional<NativeIo> io = NativeIo.tryLoad();
            PointStore store = RestoreCommand.storeOf(destination, stateDirectory, io);
            finishInterruptedCommit(store, io);
            List<Point> points = store.points();
            pending = !points.isEmpty() && points.get(points.size() - 1).pending();
            for (Point p : points) {
                if (p.pending()) {
                    continue;
                }
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("id", p.id());
                row.put("time", p.committed().toString());
                row.put("length", p.length());
                row.put("blockSize", p.blockSize());
                row.put("kind", p.kind().name().toLowerCase(Locale.ROOT));
                row.put("bytesUsed", store.bytesUsed(p));
                row.put("digest", p.digestHex());
                rows.add(row);
            }
        } catch (IOException e) {
            throw RestoreCommand.classify(e, destination);
        }
        if (json) {
            Map<String, Object> all = new LinkedHashMap<>();
            all.put("replica", destination.toString());
            all.put("interruptedCycle", pending);
            all.put("digestAlgorithm", dev.standin.delta.ImageDigest.NAME);
            all.put("points", rows);
            try {
                out.println(new ObjectMapper().writeValueAsString(all));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new StandinException(ExitStatus.ERROR, "cannot write JSON: " + e.getMessage(), e);
            }
            return ExitStatus.OK.code();
        }
        if (rows.isEmpty()) {
            out.println(destination + " has no recovery points");
        } else {
            out.printf("%6s  %-24s  %10s  %-5s  %10s  %s%n", "ID", "TIME", "LENGTH", "KIND", "USED",
                    "IMAGE DIGEST (" + StatsReport.DIGEST_NOTE + ")");
            for (Map<String, Object> r : rows) {
                out.printf("%6d  %-24s  %10s  %-5s  %10s  %s%n", r.get("id"), r.get("time"),
                        StatsReport.bytes((Long) r.get("length")), r.get("kind"),
                        StatsReport.bytes((Long) r.get("bytesUsed")), r.get("digest"));
            }
        }
        if (pending) {
            spec.commandLine().getErr().println("standin: a cycle of " + destination
                    + " was interrupted while committing; the next standin sync or restore finishes it");
        }
        return ExitStatus.OK.code();
    }
}
