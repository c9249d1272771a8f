package dev.standin.agent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.engine.CycleReport;
import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.DiskOutcome;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.failover.Failover;
import dev.standin.agent.failover.QemuMachine;
import dev.standin.agent.failover.Virsh;
import dev.standin.agent.supervise.LibvirtSource;
import dev.standin.agent.supervise.MoveSource;
import dev.standin.agent.supervise.PlannedFailover;
import dev.standin.agent.supervise.QemuSource;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.agent.transport.SshOptions;
import dev.standin.agent.transport.SshRemoteShell;
import dev.standin.agent.vm.VmPoint;
import dev.standin.delta.stream.Compression;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.supervisor.policy.Durations;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin reverse VM --to DEST}: replicates a failed-over VM back to its original host. */
@Command(name = "reverse", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Replicates VM, running on this host since 'standin failover', back to DEST (usually the "
                + "directory of its original disks on its original host): a cycle of every disk as the VM sees it "
                + "now, from one instant (a snapshot of the running VM), sending only the blocks that differ from "
                + "what DEST holds (the original disks still hold the last common point; none there: a first copy).",
            "DEST's disks must not be in use: stop the original VM first. They become raw images of the guest's "
                + "disks, each with recovery points and a VM point, so the VM can be failed over back there."})
final class ReverseCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Parameters(index = "0", paramLabel = "VM", description = "The failed-over VM.")
    private String vm;

    @Option(names = "--to", required = true, paramLabel = "DEST",
            description = "A directory: [user@]host:/DIR/, ssh://[user@]host[:port]/DIR/ or a local /DIR/; each disk "
                    + "goes to DIR/ + its replica's name.")
    private String destination;

    @Mixin
    private ReplicaRootsMixin roots;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/standin",
            description = "Where snapshot records and sender caches are kept (default: ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Option(names = "--json", description = "Print each disk's statistics as a JSON object, one a line.")
    private boolean json;

    @Mixin
    private SshMixin ssh;

    @Option(names = "--planned", description = "End the episode without losing a write: shut the VM down here "
            + "(its guest agent, else ACPI), send what it wrote in one last reverse cycle, and start that VM point at "
            + "DEST through its receiver. If the cycle fails or it does not boot there, the VM starts here again.")
    private boolean planned;

    @Option(names = "--shutdown-timeout", paramLabel = "DURATION", defaultValue = "5m", description = "With --planned: "
            + "how long the guest may take to power off (default: ${DEFAULT-VALUE}); past it nothing is moved.")
    private String shutdownTimeout;

    @Option(names = "--boot-timeout", paramLabel = "DURATION", defaultValue = "10m", description = "With --planned: how long "
            + "the VM may take to boot at DEST (default: ${DEFAULT-VALUE}).")
    private String bootTimeout;

    @Override
    public Integer call() throws StandinException, InterruptedException {
        Failover.Running running = Failover.running(vm, roots.roots());
        Optional<RemoteLocation> remote = RemoteLocation.parse(destination);
        String directory = remote.map(RemoteLocation::path).orElse(destination);
        if (remote.isEmpty() && !Path.of(directory).isAbsolute()) {
            throw new StandinException(ExitStatus.USAGE, "--to " + destination + ": a local directory is an absolute "
                    + "path");
        }
        String base = directory.endsWith("/") ? directory : directory + "/";
        var sshOptions = ssh.options(0, main.invocation());
        Optional<CycleRequest.Remote> host = remote.map(r -> new CycleRequest.Remote(r, sshOptions, Optional.empty()));
        PrintWriter err = main.invocation().err();
        PrintWriter out = main.invocation().out();
        if (planned) {
            // DEST as given (a remote one is reached through its receiver), as a directory
            QemuMachine machine = QemuMachine.in(running.run());
            MoveSource source = running.domain().isPresent()
                    ? new LibvirtSource(new Virsh(running.libvirtUri()), running.domain().get())
                    : QemuSource.ofFailover(machine.monitor(), machine.guestAgent(), running.overlays(),
                            () -> new Failover(line -> err.println("standin: " + line)).restart(running));
            PlannedFailover.LastCycle last = () -> cycle(running, base, host, sshOptions, err,
                    overlay -> SnapshotSpec.parse(source.stoppedView(overlay)));
            return planned(source, last, destination.endsWith("/") ? destination : destination + "/", sshOptions, out,
                    err);
        }
        // Every disk from one instant: one QMP transaction, or one libvirt backup job.
        CycleReport report = cycle(running, base, host, sshOptions, err, overlay -> running.view());
        ObjectMapper mapper = new ObjectMapper();
        for (DiskOutcome outcome : report.disks()) {
            SyncStats stats = outcome.orThrow();
            if (json) {
                try {
                    out.println(mapper.writeValueAsString(stats));
                } catch (JsonProcessingException e) {
                    throw new StandinException(ExitStatus.ERROR, "cannot write JSON: " + e.getMessage(), e);
                }
            } else {
                out.println(stats.destination() + ": " + StatsReport.bytes(stats.wireBytes()) + " sent of "
                        + StatsReport.bytes(stats.sourceBytes()) + (stats.firstCopy() ? " (a first copy)" : "")
                        + ", point " + stats.point());
            }
        }
        if (report.vmPointFailure().isPresent()) {
            throw report.vmPointFailure().get();
        }
        report.vmPoint().ifPresent(p -> err.println("standin: VM " + p.vm() + " is at VM point " + p.id() + " in "
                + destination + "; 'standin failover " + p.vm() + "' there starts it"));
        return ExitStatus.OK.code();
    }

    /** One reverse cycle of every disk of the running VM, each read through {@code view} of its overlay. */
    private CycleReport cycle(Failover.Running running, String base, Optional<CycleRequest.Remote> host,
            SshOptions sshOptions, PrintWriter err, java.util.function.Function<Path, SnapshotSpec> view)
            throws StandinException, InterruptedException {
        VmPoint point = running.point();
        List<CycleRequest.Disk> disks = new ArrayList<>();
        for (int i = 0; i < point.disks().size(); i++) {
            Path overlay = running.overlays().get(i);
            disks.add(new CycleRequest.Disk(SyncOptions.builder(overlay, Path.of(base + point.disks().get(i).replica()))
                    .compression(Compression.parse(host.isPresent() ? "zstd" : "none"))
                    .stateDirectory(stateDirectory).build(), Optional.of(view.apply(overlay))));
        }
        return new Replication(Progress.NONE, line -> err.println("standin: " + line),
                Optional.of(SshRemoteShell.connector(sshOptions))).run(new CycleRequest(disks, host, false,
                        Optional.of(new CycleRequest.Vm(point.vm(), point.qemu(), point.libvirt(), point.vmx()))));
    }

    /** The way back, as a planned move: the failed-over VM shut down, a last reverse of its stopped overlays, started at DEST. */
    private int planned(MoveSource source, PlannedFailover.LastCycle cycle, String dest, SshOptions sshOptions,
            PrintWriter out, PrintWriter err) throws StandinException, InterruptedException {
        Duration shutdown;
        Duration boot;
        try {
            shutdown = Durations.parse(shutdownTimeout);
            boot = Durations.parse(bootTimeout);
        } catch (IllegalArgumentException e) {
            throw new StandinException(ExitStatus.USAGE, e.getMessage());
        }
        JsonNode report = new PlannedFailover(stateDirectory, line -> err.println("standin: " + line)).move(
                new PlannedFailover.Move(vm, source, cycle, dest, sshOptions), shutdown, boot);
        if (json) {
            out.println(report);
        } else {
            out.println("VM " + vm + " moved back to " + destination + ": VM point " + report.path("point").asLong()
                    + ", " + report.path("verdict").asText() + ": " + report.path("reason").asText());
        }
        err.println("standin: here it is shut off; 'standin failover " + vm + " --cleanup --discard' removes it (the "
                + "last reverse holds everything it wrote)");
        return ExitStatus.OK.code();
    }
}
