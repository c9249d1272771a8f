package dev.standin.agent.engine;

import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.transport.RemoteLocation;
import dev.standin.agent.transport.SshOptions;
import dev.standin.agent.transport.WarmChannels;
import dev.standin.agent.vm.QemuLaunch;
import dev.standin.agent.vm.VmPoint;
import dev.standin.snapshot.SnapshotSpec;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One cycle of one or more disks to one destination host (or this one).
 *
 * @param disks each disk's source, replica path (on {@code remote}'s host when present) and options
 * @param remote the replicas' host, empty for replicas on this host
 * @param scrub re-read each replica whatever its caches say, compare it with its record and repair
 *              every block that differs ({@code standin verify --against})
 * @param vm the VM the disks are, in boot order: once all of them committed, a VM point is recorded
 *           beside the replicas (which must then share one directory)
 */
public record CycleRequest(List<Disk> disks, Optional<Remote> remote, boolean scrub, Optional<Vm> vm) {

    public CycleRequest {
        disks = List.copyOf(disks);
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(vm, "vm");
        if (disks.isEmpty()) {
            throw new IllegalArgumentException("a cycle has at least one disk");
        }
        if (vm.isPresent() && disks.stream().map(d -> d.options().destination().toAbsolutePath().getParent())
                .distinct().count() != 1) {
            throw new IllegalArgumentException("the replicas of VM " + vm.get().name() + " are in one directory");
        }
    }

    public CycleRequest(List<Disk> disks, Optional<Remote> remote, boolean scrub) {
        this(disks, remote, scrub, Optional.empty());
    }

    /**
     * The VM whose disks these are, and how to start it again elsewhere: a QEMU launch spec, or its
     * libvirt domain definition as the source host has it now.
     */
    public record Vm(String name, Optional<QemuLaunch> qemu, Optional<String> libvirt, Optional<String> vmx) {
        public Vm {
            if (!VmPoint.validName(name)) {
                throw new IllegalArgumentException("VM name '" + name + "'");
            }
            Objects.requireNonNull(qemu, "qemu");
            Objects.requireNonNull(libvirt, "libvirt");
            Objects.requireNonNull(vmx, "vmx");
        }

        /** A VM whose ESXi .vmx, if it has one, comes from its disks' views. */
        public Vm(String name, Optional<QemuLaunch> qemu, Optional<String> libvirt) {
            this(name, qemu, libvirt, Optional.empty());
        }

        public Vm(String name, Optional<QemuLaunch> qemu) {
            this(name, qemu, Optional.empty());
        }
    }

    /**
     * One disk: {@code options.source()} is read (through {@code view}'s point-in-time snapshot
     * when present) into the replica at {@code options.destination()}.
     */
    public record Disk(SyncOptions options, Optional<SnapshotSpec> view) {
        public Disk {
            Objects.requireNonNull(options, "options");
            Objects.requireNonNull(view, "view");
        }
    }

    /**
     * The host the replicas are on: {@code host}'s user, host and port (its path is unused; each
     * disk names its replica), how to reach it, and warm channels of a long-lived process.
     */
    public record Remote(RemoteLocation host, SshOptions ssh, Optional<WarmChannels> warmChannels) {
        public Remote {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(ssh, "ssh");
            Objects.requireNonNull(warmChannels, "warmChannels");
        }

        RemoteLocation replica(String path) {
            return new RemoteLocation(host.user(), host.host(), host.port(), path);
        }
    }

    public static CycleRequest local(List<Disk> disks) {
        return new CycleRequest(disks, Optional.empty(), false);
    }
}
