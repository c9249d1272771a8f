package dev.standin.agent.vm;

import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One VM point: each disk's recovery point from one cycle, in boot order, and the VM's definition
 * as it was then. {@code id} is 0 until the replica host records it (ids grow by one per point).
 *
 * @param time the instant the cycle began, before its views were taken
 * @param qemu how to start it with QEMU directly
 * @param libvirt its libvirt domain definition (XML, as {@code virsh dumpxml --inactive --security-info}
 *                gives it on the source host), which a failover prefers to {@code qemu}
 * @param vmx an ESXi VM's {@code .vmx} at the cycle's snapshot: kept for a person (or an ESXi host)
 *            to rebuild the VM from; standin starts such a VM from {@code qemu} only
 */
public record VmPoint(long id, String vm, Instant time, List<Disk> disks, Optional<QemuLaunch> qemu,
        Optional<String> libvirt, Optional<String> vmx) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    public VmPoint {
        disks = List.copyOf(disks);
        if (id < 0) {
            throw new IllegalArgumentException("VM point id " + id);
        }
        if (!NAME.matcher(vm).matches() || vm.equals(".") || vm.equals("..")) {
            throw new IllegalArgumentException("VM name '" + vm + "' (letters, digits, '.', '_', '-')");
        }
        if (disks.isEmpty()) {
            throw new IllegalArgumentException("a VM point has at least one disk");
        }
        if (disks.stream().map(Disk::replica).distinct().count() != disks.size()) {
            throw new IllegalArgumentException("two disks of VM " + vm + " have one replica");
        }
        java.util.Objects.requireNonNull(qemu, "qemu");
        java.util.Objects.requireNonNull(libvirt, "libvirt");
        java.util.Objects.requireNonNull(vmx, "vmx");
    }

    public VmPoint(long id, String vm, Instant time, List<Disk> disks, Optional<QemuLaunch> qemu,
            Optional<String> libvirt) {
        this(id, vm, time, disks, qemu, libvirt, Optional.empty());
    }

    public VmPoint(long id, String vm, Instant time, List<Disk> disks, Optional<QemuLaunch> qemu) {
        this(id, vm, time, disks, qemu, Optional.empty());
    }

    /** Names a VM as standin.yaml does. */
    public static boolean validName(String name) {
        return NAME.matcher(name).matches() && !name.equals(".") && !name.equals("..");
    }

    public VmPoint withId(long newId) {
        return new VmPoint(newId, vm, time, disks, qemu, libvirt, vmx);
    }

    /**
     * One disk's recovery point.
     *
     * @param replica the replica's file name in the VM point's directory (never a path)
     * @param point its recovery point's id in the replica's point store
     * @param digest the point's image digest, 32 bytes
     */
    public record Disk(String replica, long point, long length, byte[] digest) {
        public Disk {
            if (replica.isEmpty() || replica.contains("/") || replica.contains("\0") || replica.equals(".")
                    || replica.equals("..") || replica.startsWith("-")) {
                throw new IllegalArgumentException("replica name '" + replica + "' is not a file name");
            }
            if (point < 1) {
                throw new IllegalArgumentException("recovery point id " + point);
            }
            if (length < 0) {
                throw new IllegalArgumentException("length " + length);
            }
            if (digest.length != 32) {
                throw new IllegalArgumentException("a digest of " + digest.length + " bytes, not 32");
            }
            digest = digest.clone();
        }

        @Override
        public byte[] digest() {
            return digest.clone();
        }

        public String digestHex() {
            return HexFormat.of().formatHex(digest);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Disk d && d.replica.equals(replica) && d.point == point && d.length == length
                    && java.util.Arrays.equals(d.digest, digest);
        }

        @Override
        public int hashCode() {
            return replica.hashCode() * 31 + Long.hashCode(point);
        }

        @Override
        public String toString() {
            return replica + "@" + point;
        }
    }
}
