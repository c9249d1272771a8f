package dev.standin.agent.vm;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How to start a VM with QEMU where there is no libvirt: {@code qemu: { memory: 1G, cpus: 2 }}
 * beside its disks in standin.yaml. The disks are attached as virtio disks in their listed order,
 * the first one booting.
 *
 * @param memory guest memory in bytes, at least 16 MiB
 * @param cpus virtual CPUs, 1 to 255
 * @param machine QEMU machine type ({@code q35}, {@code pc}, ...)
 * @param firmware what boots it: BIOS (SeaBIOS) or UEFI (OVMF)
 * @param nics its network cards, each on a bridge of the host that starts it (none in a test)
 */
public record QemuLaunch(long memory, int cpus, String machine, Firmware firmware, List<Nic> nics) {

    public static final String DEFAULT_MACHINE = "q35";
    private static final Pattern MACHINE = Pattern.compile("[a-z0-9][a-z0-9.\\-]{0,63}");

    public enum Firmware {
        BIOS, UEFI;

        /** {@code bios} or {@code uefi}, as standin.yaml and the VM point record write it. */
        public String text() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Firmware parse(String text) {
            return switch (text) {
                case "bios" -> BIOS;
                case "uefi" -> UEFI;
                default -> throw new IllegalArgumentException("firmware '" + text + "' is bios or uefi");
            };
        }
    }

    /**
     * A network card: on host bridge {@code bridge} (a Linux interface name), with MAC address
     * {@code mac} (the source's, so DHCP reservations and licences follow the VM; empty: one made
     * from the VM's name) and QEMU device {@code model}.
     */
    public record Nic(String bridge, Optional<String> mac, String model) {
        public static final String DEFAULT_MODEL = "virtio-net-pci";
        private static final Pattern BRIDGE = Pattern.compile("[A-Za-z0-9_.\\-]{1,15}");
        private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
        private static final Pattern MODEL = Pattern.compile("[a-z0-9][a-z0-9\\-]{0,31}");

        public Nic {
            if (!BRIDGE.matcher(bridge).matches()) {
                throw new IllegalArgumentException("bridge '" + bridge + "' is not a network interface name");
            }
            mac = mac.map(m -> m.toLowerCase(java.util.Locale.ROOT));
            if (mac.isPresent() && (!MAC.matcher(mac.get()).matches()
                    || (Integer.parseInt(mac.get().substring(0, 2), 16) & 1) != 0)) {
                throw new IllegalArgumentException("mac '" + mac.get() + "' is not a unicast MAC address "
                        + "(52:54:00:12:34:56)");
            }
            if (!MODEL.matcher(model).matches()) {
                throw new IllegalArgumentException("model '" + model + "' is not a QEMU network device "
                        + "(virtio-net-pci, e1000e, ...)");
            }
        }
    }

    public QemuLaunch {
        nics = List.copyOf(nics);
        if (memory < 16L << 20 || memory > 16L << 40) {
            throw new IllegalArgumentException("memory of " + memory + " bytes: a VM has 16 MiB to 16 TiB");
        }
        if (cpus < 1 || cpus > 255) {
            throw new IllegalArgumentException(cpus + " CPUs: a VM has 1 to 255");
        }
        if (!MACHINE.matcher(machine).matches()) {
            throw new IllegalArgumentException("machine type '" + machine + "' is not a QEMU machine name (q35, pc, ...)");
        }
        if (nics.size() > 8) {
            throw new IllegalArgumentException(nics.size() + " network cards: a VM here has at most 8");
        }
    }

    /** BIOS, no network card. */
    public QemuLaunch(long memory, int cpus, String machine) {
        this(memory, cpus, machine, Firmware.BIOS, List.of());
    }
}
