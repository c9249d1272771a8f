package dev.standin.agent.supervise;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.engine.CycleReport;
import dev.standin.agent.engine.DiskOutcome;
import dev.standin.agent.failover.Failover;
import dev.standin.agent.failover.Virsh;
import dev.standin.agent.transport.RemoteFailover;
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.agent.transport.SshOptions;
import dev.standin.agent.vm.VmPoint;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.config.SupervisorConfig.Target;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@code standin failover VM --planned}, run on the VM's source host: a move that loses nothing.
 * The replica host is asked first whether it can start VMs; then the VM ({@link MoveSource}: a
 * libvirt domain, or a QEMU process) is shut down (its guest agent, else the ACPI power button)
 * and kept from starting by itself, one last cycle sends what the VM wrote until it stopped, and
 * the replica host starts the VM point that cycle recorded. If the last cycle fails or the replica
 * does not boot (and is removed there), the source runs again as before (a domain is started; a
 * QEMU standin did not start is left to the operator, with how it ran); if the replica host's
 * answer is lost, the source stays off. The VM never runs in two places.
 */
public final class PlannedFailover {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path stateDir;
    private final Consumer<String> notices;

    public PlannedFailover(Path stateDir, Consumer<String> notices) {
        this.stateDir = stateDir;
        this.notices = notices;
    }

    /** How a move's last cycle runs once the domain is shut off; the engine's report. */
    @FunctionalInterface
    public interface LastCycle {
        CycleReport run() throws StandinException, InterruptedException;
    }

    /**
     * What a planned move moves: VM {@code vm}, run here as {@code source}, whose last cycle
     * ({@code lastCycle}) records a VM point at {@code dest} (a directory, local or
     * {@code [user@]host:DIR/}), reached with {@code ssh}.
     */
    public record Move(String vm, MoveSource source, LastCycle lastCycle, String dest, SshOptions ssh) { }

    /** A configured VM to its {@code target}: {@code standin failover VM --planned} on its source host. */
    public JsonNode run(Vm vm, Target target, TargetCycles cycles, Duration shutdownTimeout, Duration bootTimeout)
            throws StandinException, InterruptedException {
        MoveSource source = vm.libvirt().isPresent()
                ? new LibvirtSource(new Virsh(vm.libvirt().get().uri()), vm.libvirt().get().domain())
                : QemuSource.of(vm);
        return move(new Move(vm.name(), source, () -> cycles.lastCycle(vm, target, source::stoppedView), target.dest(),
                TargetCycles.ssh(target)), shutdownTimeout, bootTimeout);
    }

    /** What the host at {@code move.dest()} reported for the started VM, as {@code failover --json} prints it. */
    public JsonNode move(Move move, Duration shutdownTimeout, Duration bootTimeout)
            throws StandinException, InterruptedException {
        MoveSource source = move.source();
        Optional<RemoteLocation> remote = RemoteLocation.parse(move.dest());
        if (remote.isPresent()) {
            RemoteFailover.requireSupport(TargetCycles.inReplicas(remote.get(), move.vm()), move.ssh());
        }
        boolean wasRunning = source.running();
        if (wasRunning) {
            long started = System.nanoTime();
            source.shutDown(shutdownTimeout);
            notices.accept(source.describe() + " shut down in " + Math.round((System.nanoTime() - started) / 1e9) + " s");
        }
        boolean keptOff = source.keepOff(notices);
        VmPoint point;
        try {
            point = lastCycle(move);
        } catch (StandinException | InterruptedException | RuntimeException e) {
            undo(source, wasRunning, keptOff, e);
            throw e;
        }
        JsonNode report;
        try {
            report = start(move, point, bootTimeout);
        } catch (StandinException e) {
            if (remote.isEmpty()) {
                undo(source, wasRunning, keptOff, e); // a failover here removes what it started
                throw e;
            }
            // The replica host's answer is lost or a failure: whether a VM runs there is not known
            // here, so the source stays off rather than the VM running twice.
            throw new StandinException(e.status(), "starting VM point " + point.id() + " at " + move.dest()
                    + " failed: " + e.getMessage() + "; " + source.describe() + " stays shut off here so that the VM "
                    + "never runs twice: see 'standin points " + move.vm() + "' there, then start one of them", e);
        }
        if (!report.path("running").asBoolean(false)) {
            StandinException notBooted = new StandinException(ExitStatus.BOOT, "VM point " + point.id() + " did not "
                    + "boot at " + move.dest() + " (" + report.path("verdict").asText() + ": "
                    + report.path("reason").asText() + ") and was removed there");
            undo(source, wasRunning, keptOff, notBooted);
            throw notBooted;
        }
        return report;
    }

    /** The cycle of the stopped disks; the VM point it recorded, or the cycle's failure. */
    private VmPoint lastCycle(Move move) throws StandinException, InterruptedException {
        CycleReport report = move.lastCycle().run();
        long sent = 0;
        for (DiskOutcome outcome : report.disks()) {
            sent += outcome.orThrow().wireBytes();
        }
        if (report.vmPointFailure().isPresent()) {
            throw report.vmPointFailure().get();
        }
        VmPoint point = report.vmPoint().orElseThrow(() -> new StandinException(ExitStatus.DESTINATION,
                "the last cycle recorded no VM point at " + move.dest()));
        notices.accept("the last cycle sent " + sent + " bytes; VM point " + point.id() + " at " + move.dest()
                + " holds everything VM " + move.vm() + " wrote");
        return point;
    }

    private JsonNode start(Move move, VmPoint point, Duration timeout) throws StandinException, InterruptedException {
        Optional<RemoteLocation> remote = RemoteLocation.parse(move.dest());
        if (remote.isPresent()) {
            return RemoteFailover.start(TargetCycles.inReplicas(remote.get(), move.vm()), move.ssh(), move.vm(),
                    point.id(), timeout);
        }
        Failover.Report report = new Failover(notices).run(Failover.Request.plannedStart(move.vm(),
                Path.of(move.dest()), point.id(), timeout, stateDir));
        try {
            return JSON.readTree(report.json());
        } catch (IOException e) {
            throw new IllegalStateException("a report this process wrote is JSON", e);
        }
    }

    /** The source runs again as it did; what could not be restored is added to {@code failure}. */
    private void undo(MoveSource source, boolean wasRunning, boolean keptOff, Exception failure) {
        try {
            notices.accept(source.restore(wasRunning, keptOff));
        } catch (StandinException e) {
            failure.addSuppressed(e);
            notices.accept(source.describe() + " could not be started again: " + e.getMessage());
        }
    }
}
