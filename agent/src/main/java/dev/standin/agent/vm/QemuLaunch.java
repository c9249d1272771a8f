package dev.standin.agent.vm;

import java.util.regex.Pattern;

/**
 * How to start a VM with QEMU where there is no libvirt: {@code qemu: { memory: 1G, cpus: 2 }}
 * beside its disks in standin.yaml. The disks are attached as virtio disks in their listed order,
 * the first one booting (BIOS).
 *
 * @param memory guest memory in bytes, at least 16 MiB
 * @param cpus virtual CPUs, 1 to 255
 * @param machine QEMU machine type ({@code q35}, {@code pc}, ...)
 */
public record QemuLaunch(long memory, int cpus, String machine) {

    public static final String DEFAULT_MACHINE = "q35";
    private static final Pattern MACHINE = Pattern.compile("[a-z0-9][a-z0-9.\\-]{0,63}");

    public QemuLaunch {
        if (memory < 16L << 20 || memory > 16L << 40) {
            throw new IllegalArgumentException("memory of " + memory + " bytes: a VM has 16 MiB to 16 TiB");
        }
        if (cpus < 1 || cpus > 255) {
            throw new IllegalArgumentException(cpus + " CPUs: a VM has 1 to 255");
        }
        if (!MACHINE.matcher(machine).matches()) {
            throw new IllegalArgumentException("machine type '" + machine + "' is not a QEMU machine name (q35, pc, ...)");
        }
    }
}
