package dev.standin.agent.vm;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An ESXi VM's {@code .vmx} (as its VM points carry it) read for starting the VM under QEMU on a
 * Linux replica host: memory, CPUs, firmware, its hard disks with the controllers they hang on, and
 * its network cards. The guest keeps the hardware it has drivers for where QEMU emulates it
 * (PVSCSI, LSI SAS 1068, AHCI, IDE, NVMe disks; vmxnet3, e1000, e1000e NICs), which is what lets an
 * unconverted guest find its boot disk. A {@code .vmx} is {@code key = "value"} lines, keys in
 * any case.
 */
public final class Vmx {

    private static final Pattern LINE = Pattern.compile("\\s*([A-Za-z0-9_.:\\-]+)\\s*=\\s*\"(.*)\"\\s*");
    private static final Pattern DISK = Pattern.compile("(scsi|sata|ide|nvme)(\\d+):(\\d+)\\.filename");
    private static final Pattern NIC = Pattern.compile("ethernet(\\d+)\\.present");
    /** ESXi lists disks by device key: SCSI (2000+), IDE (3000+), SATA (16000+), NVMe (31000+). */
    private static final List<String> BUS_ORDER = List.of("scsi", "ide", "sata", "nvme");

    private final Map<String, String> entries;

    private Vmx(Map<String, String> entries) {
        this.entries = entries;
    }

    /** The entries of {@code text}; a line that is neither an entry, a comment nor blank is refused. */
    public static Vmx parse(String text) {
        Map<String, String> entries = new LinkedHashMap<>();
        int number = 0;
        for (String line : text.split("\n", -1)) {
            number++;
            String trimmed = line.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            Matcher m = LINE.matcher(trimmed);
            if (!m.matches()) {
                throw new IllegalArgumentException(".vmx line " + number + " is not key = \"value\": " + trimmed);
            }
            entries.put(m.group(1).toLowerCase(Locale.ROOT), m.group(2));
        }
        return new Vmx(entries);
    }

    private Optional<String> get(String key) {
        return Optional.ofNullable(entries.get(key.toLowerCase(Locale.ROOT)));
    }

    private boolean present(String device) {
        return get(device + ".present").map(v -> v.equalsIgnoreCase("true")).orElse(false);
    }

    /** A hard disk: {@code bus}{@code controller}:{@code unit}, its file, and the QEMU device for its controller. */
    public record Disk(String bus, int controller, int unit, String fileName, String controllerModel) {
        public String slot() {
            return bus + controller + ":" + unit;
        }
    }

    /** A network card: {@code ethernet}{@code index}, its QEMU model, MAC and the port group it is on. */
    public record Nic(int index, String model, Optional<String> mac, String network) { }

    /** The hard disks (CD-ROMs left out), in the order ESXi lists them. */
    public List<Disk> disks(Consumer<String> notices) {
        List<Disk> disks = new ArrayList<>();
        for (String key : entries.keySet()) {
            Matcher m = DISK.matcher(key);
            if (!m.matches()) {
                continue;
            }
            String device = m.group(1) + m.group(2) + ":" + m.group(3);
            String type = get(device + ".deviceType").orElse("").toLowerCase(Locale.ROOT);
            String file = entries.get(key);
            if (!present(device) || type.contains("cdrom") || !file.toLowerCase(Locale.ROOT).endsWith(".vmdk")) {
                continue;
            }
            String bus = m.group(1);
            int controller = Integer.parseInt(m.group(2));
            disks.add(new Disk(bus, controller, Integer.parseInt(m.group(3)), file,
                    controllerModel(bus, controller, notices)));
        }
        disks.sort(Comparator.comparingInt((Disk d) -> BUS_ORDER.indexOf(d.bus())).thenComparingInt(Disk::controller)
                .thenComparingInt(Disk::unit));
        return disks;
    }

    /** The QEMU controller closest to the VMware one, so the guest's own driver finds the disk. */
    private String controllerModel(String bus, int controller, Consumer<String> notices) {
        return switch (bus) {
            case "scsi" -> {
                String dev = get("scsi" + controller + ".virtualDev").orElse("lsilogic").toLowerCase(Locale.ROOT);
                yield switch (dev) {
                    case "pvscsi" -> "pvscsi";
                    case "lsisas1068" -> "mptsas1068";
                    case "lsilogic" -> {
                        notices.accept("scsi" + controller + " is an LSI Logic parallel controller, which QEMU does not "
                                + "emulate: its disks are on an LSI SAS 1068 (the guest needs that driver: Linux "
                                + "mptsas, Windows LSI_SAS)");
                        yield "mptsas1068";
                    }
                    default -> {
                        notices.accept("scsi" + controller + " is a " + dev + " controller, which QEMU does not emulate: "
                                + "its disks are on an LSI 53C895A (Linux sym53c8xx)");
                        yield "lsi53c895a";
                    }
                };
            }
            case "sata" -> "ich9-ahci";
            case "ide" -> "ide";
            default -> "nvme";
        };
    }

    /** The network cards that are present, by index. */
    public List<Nic> nics(Consumer<String> notices) {
        List<Nic> nics = new ArrayList<>();
        for (String key : entries.keySet()) {
            Matcher m = NIC.matcher(key);
            if (!m.matches() || !present("ethernet" + m.group(1))) {
                continue;
            }
            String card = "ethernet" + m.group(1);
            String dev = get(card + ".virtualDev").orElse("e1000").toLowerCase(Locale.ROOT);
            String model = switch (dev) {
                case "vmxnet3", "e1000", "e1000e" -> dev;
                case "vlance" -> "pcnet";
                default -> {
                    notices.accept(card + " is a " + dev + " card, which QEMU does not emulate: it becomes an e1000");
                    yield "e1000";
                }
            };
            boolean fixed = get(card + ".addressType").map(t -> t.equalsIgnoreCase("static")).orElse(false);
            Optional<String> mac = get(card + (fixed ? ".address" : ".generatedAddress"))
                    .map(a -> a.toLowerCase(Locale.ROOT));
            nics.add(new Nic(Integer.parseInt(m.group(1)), model, mac,
                    get(card + ".networkName").orElse("VM Network")));
        }
        nics.sort(Comparator.comparingInt(Nic::index));
        return nics;
    }

    /**
     * How QEMU starts the VM on {@code disks} of its replicas (the first of the .vmx's hard disks, in
     * ESXi's order): memory, CPUs, firmware, the controllers, and (for {@code withNics}) each card on
     * the bridge {@code networks} maps its port group to. A port group with no bridge is refused by
     * name, as is a .vmx without memory or with fewer disks than the VM point.
     */
    public Launch launch(int disks, Map<String, String> networks, boolean withNics, Consumer<String> notices) {
        long memory = get("memSize").map(Vmx::number).orElseThrow(() -> new IllegalArgumentException(
                "the .vmx has no memSize")) << 20;
        int cpus = get("numvcpus").map(Vmx::number).orElse(1L).intValue();
        QemuLaunch.Firmware firmware = get("firmware").map(f -> f.equalsIgnoreCase("efi")).orElse(false)
                ? QemuLaunch.Firmware.UEFI : QemuLaunch.Firmware.BIOS;
        List<Disk> all = disks(notices);
        if (all.size() < disks) {
            throw new IllegalArgumentException("the .vmx has " + all.size() + " hard disk(s) and the VM point " + disks);
        }
        if (all.size() > disks) {
            notices.accept("the .vmx has " + all.size() + " hard disks and the VM point " + disks + ": the VM starts "
                    + "with " + String.join(", ", all.subList(0, disks).stream().map(Disk::slot).toList()));
        }
        List<Disk> used = all.subList(0, disks);
        for (Disk d : used) {
            if (d.bus().equals("sata") && d.unit() > 5 || d.bus().equals("ide") && (d.controller() > 1 || d.unit() > 1)) {
                throw new IllegalArgumentException("disk " + d.slot() + " has no place on QEMU's "
                        + (d.bus().equals("sata") ? "AHCI controller (ports 0-5)" : "IDE (ide0:0 to ide1:1)"));
            }
        }
        List<QemuLaunch.Nic> cards = new ArrayList<>();
        if (withNics) {
            for (Nic nic : nics(notices)) {
                String bridge = networks.get(nic.network());
                if (bridge == null) {
                    throw new IllegalArgumentException("ethernet" + nic.index() + " is on port group '" + nic.network()
                            + "', which no bridge stands for here: add --network '" + nic.network() + "=BRIDGE'");
                }
                cards.add(new QemuLaunch.Nic(bridge, nic.mac(), nic.model()));
            }
        }
        // The PIIX chipset of machine 'pc' is where QEMU has IDE; q35 has only AHCI.
        String machine = used.stream().anyMatch(d -> d.bus().equals("ide")) ? "pc" : QemuLaunch.DEFAULT_MACHINE;
        return new Launch(new QemuLaunch(memory, cpus, machine, firmware, cards), used);
    }

    /** What {@link #launch} makes: the launch spec, and each VM point disk's place (in the point's order). */
    public record Launch(QemuLaunch qemu, List<Disk> disks) {
        public Launch {
            disks = List.copyOf(disks);
        }
    }

    private static long number(String text) {
        try {
            return Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' in the .vmx is not a number");
        }
    }
}
