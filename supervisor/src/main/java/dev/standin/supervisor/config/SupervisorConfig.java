package dev.standin.supervisor.config;

import dev.standin.supervisor.policy.Planner;
import dev.standin.supervisor.policy.TargetPolicy;
import dev.standin.supervisor.policy.Window;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@code /etc/standin/standin.yaml} says, checked (docs/standin.yaml.5.adoc): the VMs this host
 * protects, each with its disks and its targets, and the host-wide settings.
 *
 * @param file where it was read from, for messages
 * @param metrics where to serve Prometheus metrics ({@code host:port}); empty: not served
 * @param maxParallel cycles running at once on this host
 * @param onHealthChange a program run on every change of a target's health
 * @param hookTimeout how long that program may run
 * @param planner the retry waits in force ({@code retry-first}, {@code retry-max}, {@code retry-permanent})
 * @param replicaRoots the directories this host's {@code standin serve} writes replicas under, for
 *     other hosts: their journals are replayed when the agent starts, before anything else
 */
public record SupervisorConfig(String file, Path stateDir, Optional<HostPort> metrics, int maxParallel,
        Optional<String> onHealthChange, Duration hookTimeout, Planner planner, List<Path> replicaRoots, List<Vm> vms) {

    public SupervisorConfig {
        replicaRoots = List.copyOf(replicaRoots);
        vms = List.copyOf(vms);
        Objects.requireNonNull(metrics);
        Objects.requireNonNull(onHealthChange);
    }

    /** A config with no VMs: the agent only runs forwarded commands. */
    public static SupervisorConfig empty(String file) {
        return new SupervisorConfig(file, Path.of("/var/lib/standin"), Optional.empty(), 2, Optional.empty(),
                Duration.ofSeconds(30), Planner.DEFAULT, List.of(), List.of());
    }

    public Optional<Vm> vm(String name) {
        return vms.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    public record HostPort(String host, int port) {
        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    /**
     * One protected VM: its disks are viewed together and replicated to each target, in boot order.
     * No {@code disks} with a libvirt domain: the domain's own disks, read from its definition at
     * each cycle (a disk added to the VM is protected from its next cycle), viewed through libvirt.
     *
     * @param qemu how to start it with QEMU on a replica host ({@code standin failover})
     * @param libvirt its libvirt domain, whose definition is replicated with every VM point
     */
    public record Vm(String name, List<Disk> disks, List<Target> targets, Optional<Qemu> qemu,
            Optional<Libvirt> libvirt) {
        public Vm {
            disks = List.copyOf(disks);
            targets = List.copyOf(targets);
        }

        public Vm(String name, List<Disk> disks, List<Target> targets) {
            this(name, disks, targets, Optional.empty(), Optional.empty());
        }
    }

    /** {@code libvirt: DOMAIN} (and {@code libvirt-uri: URI}, default {@code qemu:///system}). */
    public record Libvirt(String domain, String uri) { }

    /**
     * {@code qemu: { memory: 1G, cpus: 2, machine: q35, firmware: uefi, nics: [...] }}: memory in
     * bytes; firmware {@code bios} or {@code uefi}.
     */
    public record Qemu(long memory, int cpus, String machine, String firmware, List<Nic> nics) {
        public Qemu {
            nics = List.copyOf(nics);
        }

        /** BIOS, no network card. */
        public Qemu(long memory, int cpus, String machine) {
            this(memory, cpus, machine, "bios", List.of());
        }
    }

    /** {@code { bridge: br0, mac: 52:54:00:12:34:56, model: virtio-net-pci }}: one of a QEMU-launched VM's NICs. */
    public record Nic(String bridge, Optional<String> mac, String model) { }

    /**
     * @param source the image file or block device
     * @param snapshot a {@code --snapshot KIND:ARGS} spec; empty: read live
     */
    public record Disk(String source, Optional<String> snapshot) { }

    /**
     * One place a VM is replicated to, with its own schedule, state and points.
     *
     * @param dest {@code [user@]host:DIR/} or a local directory; each disk's replica is DIR/its file name
     * @param policy when its cycles start and how its health is judged
     * @param settings the sync options in force for it (its own, else its VM's, else the file's)
 * @param bootCheckTimeout how long its boot checks wait for the VM
     */
    public record Target(String dest, TargetPolicy policy, SyncSettings settings, Duration bootCheckTimeout) {

        /** How long a boot check waits for a VM to show a login prompt or answer (TCG is slow). */
        public static final Duration BOOT_CHECK_TIMEOUT = Duration.ofMinutes(10);

        public Target(String dest, TargetPolicy policy, SyncSettings settings) {
            this(dest, policy, settings, BOOT_CHECK_TIMEOUT);
        }
    }

    /**
     * The {@code standin sync} options a target runs with, by long option name, as written
     * ({@code identity}, {@code compress}, {@code keep-points}...), and the bandwidth limit, which
     * may vary by hours of the week. The agent checks and applies them.
     */
    public record SyncSettings(Map<String, String> options, Optional<Bandwidth> bwlimit) {

        public static final List<String> KEYS = List.of("identity", "known-hosts", "ssh-config", "remote-standin",
                "compress", "block-size", "threads", "keep-points", "timeout");

        public SyncSettings {
            options = Map.copyOf(options);
        }

        /** These settings, and the parent's where these say nothing. */
        public SyncSettings over(SyncSettings parent) {
            Map<String, String> merged = new java.util.HashMap<>(parent.options);
            merged.putAll(options);
            return new SyncSettings(merged, bwlimit.or(parent::bwlimit));
        }

        public Optional<String> option(String key) {
            return Optional.ofNullable(options.get(key));
        }
    }

    /** A bandwidth limit (rsync's units) that may differ by hours: the first window that holds wins. */
    public record Bandwidth(List<Map.Entry<Window, String>> byWindow, String otherwise) {
        public Bandwidth {
            byWindow = List.copyOf(byWindow);
        }

        public String at(ZonedDateTime t) {
            return byWindow.stream().filter(e -> e.getKey().contains(t)).map(Map.Entry::getValue).findFirst()
                    .orElse(otherwise);
        }
    }
}
