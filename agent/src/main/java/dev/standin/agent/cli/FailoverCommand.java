package dev.standin.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.failover.BootCheck;
import dev.standin.agent.failover.BootRule;
import dev.standin.agent.failover.BootVerdict;
import dev.standin.agent.failover.Failover;
import dev.standin.agent.failover.Virsh;
import dev.standin.agent.supervise.PlannedFailover;
import dev.standin.agent.supervise.TargetCycles;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.config.SupervisorConfig;
import dev.standin.supervisor.config.SupervisorConfig.Target;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import dev.standin.supervisor.policy.Durations;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code standin failover VM}: starts a VM from its replicas on this host (failover package). */
@Command(name = "failover", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Starts VM on this replica host from one of its VM points, on qcow2 overlays backed by the "
                + "points' images (no point is ever written), through libvirt from its replicated domain or with QEMU "
                + "from its launch spec, and checks that it boots: 'verified' when its QEMU guest "
                + "agent answers, 'heuristic' when only its console reached a login prompt, 'failed' otherwise.",
            "While the VM exists its replicas receive no cycles. With --test it has no network and is removed after "
                + "the check. Exit 0 only for a VM that booted (verified or heuristic); 10 when it did not.",
            "With --planned it runs on the VM's source host instead and moves the VM to its target without losing a "
                + "write (docs/failover.md)."})
final class FailoverCommand implements Callable<Integer> {

    @ParentCommand
    private Main main;

    @Parameters(index = "0", paramLabel = "VM", description = "The VM's name, as in the source host's standin.yaml.")
    private String vm;

    @Option(names = "--point", paramLabel = "ID|TIME|latest", defaultValue = "latest",
            description = "The VM point: its id ('standin failover --list'), the newest at or before a time "
                + "(2026-12-04T03:00, local; or ISO-8601 with Z), or latest (default).")
    private String point;

    @Option(names = "--test", description = "A test: no network, the boot check, then the VM and its overlays are "
            + "removed; replication resumes.")
    private boolean test;

    @Option(names = "--keep", description = "With --test: leave the VM running for a person to look at "
            + "(remove it with --cleanup).")
    private boolean keep;

    @Option(names = "--cleanup", description = "Stop the VM an earlier failover started and remove its overlays; "
            + "its replicas receive cycles again.")
    private boolean cleanup;

    @Option(names = "--discard", description = "With --cleanup of a failover that was not a test: throw away what "
            + "the VM wrote since it started.")
    private boolean discard;

    @Option(names = "--planned", description = "Run on the VM's source host: a move that loses nothing. Shut the VM "
            + "down (its libvirt domain, or the QEMU its disks' qemu: snapshot names; guest agent, else ACPI), keep it "
            + "from starting by itself, send what it wrote in one last cycle, and start that VM point on the target's "
            + "host. If the cycle fails or the replica does not boot, a domain starts here again.")
    private boolean planned;

    @Option(names = "--target", paramLabel = "DEST", description = "With --planned: the target to move to, as "
            + "standin.yaml names it (needed when the VM has several).")
    private String target;

    @Option(names = "--shutdown-timeout", paramLabel = "DURATION", defaultValue = "5m", description = "With --planned: "
            + "how long the guest may take to power off (default: ${DEFAULT-VALUE}); past it nothing is moved.")
    private String shutdownTimeout;

    @Option(names = "--list", description = "List the VM's points (id, time, disks) and exit.")
    private boolean list;

    @Option(names = "--promote", description = "Make the running failover permanent: copy what its disks still read "
            + "from the replicas into its overlays, while it runs; then it needs no replica.")
    private boolean promote;

    @Mixin
    private ReplicaRootsMixin roots;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10m",
            description = "How long the VM may take to show a login prompt or answer through its guest agent "
                    + "(default: ${DEFAULT-VALUE}; emulation without KVM is slow).")
    private String timeout;

    @Option(names = "--prompt", paramLabel = "REGEX", description = "What on the serial console means the VM is up "
            + "(default: a line ending in 'login:').")
    private String prompt;

    @Option(names = "--connect", paramLabel = "URI", defaultValue = Virsh.DEFAULT_URI,
            description = "The libvirt that starts a VM whose points carry its domain (default: ${DEFAULT-VALUE}).")
    private String connect;

    @Option(names = "--network", paramLabel = "PORTGROUP=BRIDGE", description = "For a VM started from its ESXi .vmx: "
            + "the bridge here that stands for an ESXi port group its network cards are on (repeat for each). A real "
            + "failover refuses a card whose port group has none; a test has no network.")
    private java.util.Map<String, String> networks = new java.util.LinkedHashMap<>();

    @Option(names = "--json", description = "Print one JSON object: vm, point, time, verdict, reason, seconds, ...")
    private boolean json;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/standin",
            description = "Where journals of block device replicas are kept (default: ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Override
    public Integer call() throws StandinException, InterruptedException {
        PrintWriter out = main.invocation().out();
        PrintWriter err = main.invocation().err();
        List<Path> where = planned ? List.of() : roots.roots();
        Failover failover = new Failover(line -> err.println("standin: " + line));
        if (cleanup) {
            failover.cleanup(vm, where, discard).forEach(out::println);
            return ExitStatus.OK.code();
        }
        if (promote) {
            failover.promote(vm, where).forEach(out::println);
            return ExitStatus.OK.code();
        }
        if (list) {
            PointsCommand.listVmPoints(out, vm, where, json);
            return ExitStatus.OK.code();
        }
        if (keep && !test) {
            throw new StandinException(ExitStatus.USAGE,
                    "--keep goes with --test (a real failover keeps its VM anyway)");
        }
        Duration limit;
        Pattern consolePrompt;
        try {
            limit = Durations.parse(timeout);
            consolePrompt = prompt == null ? BootCheck.DEFAULT_PROMPT : Pattern.compile(prompt, Pattern.MULTILINE);
        } catch (IllegalArgumentException e) { // a bad duration, or PatternSyntaxException
            throw new StandinException(ExitStatus.USAGE, e.getMessage().lines().findFirst().orElse("bad value"));
        }
        if (planned) {
            return planned(limit, out, err);
        }
        Failover.Report report = failover.run(new Failover.Request(vm, where, point, test, keep,
                new BootRule(limit, BootRule.AGENT_GRACE), consolePrompt, stateDirectory, connect, networks));
        if (json) {
            out.println(report.json());
        } else {
            out.println("VM " + report.vm() + ", point " + report.point() + " (" + report.time() + "): "
                    + report.verdict().text() + ": " + report.reason() + String.format(" (%.0f s)", report.seconds()));
            out.println(report.running() ? "running as process " + report.pid().map(String::valueOf).orElse("?")
                    + "; its console is " + report.run().resolve("console.log")
                    + (test ? "; remove it with 'standin failover --cleanup " + vm + "'"
                            : "; 'standin failover " + vm + " --promote' makes it independent of its replicas")
                    : "the test VM and its overlays are removed; its console is kept beside the VM's points");
        }
        return report.verdict() == BootVerdict.FAILED ? ExitStatus.BOOT.code() : ExitStatus.OK.code();
    }

    private int planned(Duration bootTimeout, PrintWriter out, PrintWriter err)
            throws StandinException, InterruptedException {
        if (test || keep || cleanup || promote || list || !point.equals("latest")) {
            throw new StandinException(ExitStatus.USAGE, "--planned starts the VM point its last cycle makes, for real: "
                    + "no --test, --keep, --point, --cleanup, --promote or --list with it");
        }
        SupervisorConfig config = roots.config();
        Vm protectedVm = config.vms().stream().filter(v -> v.name().equals(vm)).findFirst().orElseThrow(() ->
                new StandinException(ExitStatus.USAGE, "VM " + vm + " is not in " + config.file() + " (it has: "
                        + String.join(", ", config.vms().stream().map(Vm::name).toList()) + ")"));
        Target to;
        if (target != null) {
            to = protectedVm.targets().stream().filter(t -> t.dest().equals(target)).findFirst().orElseThrow(() ->
                    new StandinException(ExitStatus.USAGE, "VM " + vm + " has no target " + target + " (it has: "
                            + String.join(", ", protectedVm.targets().stream().map(Target::dest).toList()) + ")"));
        } else if (protectedVm.targets().size() == 1) {
            to = protectedVm.targets().get(0);
        } else {
            throw new StandinException(ExitStatus.USAGE, "VM " + vm + " has " + protectedVm.targets().size()
                    + " targets; name the one to move to with --target DEST");
        }
        Duration shutdown;
        try {
            shutdown = Durations.parse(shutdownTimeout);
        } catch (IllegalArgumentException e) {
            throw new StandinException(ExitStatus.USAGE, "--shutdown-timeout: " + e.getMessage());
        }
        java.util.function.Consumer<String> notices = line -> err.println("standin: " + line);
        JsonNode report = new PlannedFailover(config.stateDir(), notices).run(protectedVm, to,
                new TargetCycles(config.stateDir(), notices, Optional.empty()), shutdown, bootTimeout);
        if (json) {
            out.println(report);
        } else {
            out.println("VM " + vm + " moved to " + to.dest() + ": VM point " + report.path("point").asLong() + ", "
                    + report.path("verdict").asText() + ": " + report.path("reason").asText());
            out.println("here it is shut off" + (protectedVm.libvirt().isPresent() ? ", autostart off" : "")
                    + "; replicate it back with 'standin reverse " + vm + " --to DEST' on the replica host");
        }
        return ExitStatus.OK.code();
    }
}
