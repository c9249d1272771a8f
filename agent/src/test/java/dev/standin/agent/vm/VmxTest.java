package dev.standin.agent.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reading an ESXi .vmx into a QEMU start, without I/O. */
class VmxTest {

    /** As ESXi 8 writes one: a PVSCSI boot disk, a SATA data disk, a CD-ROM, two NICs, UEFI. */
    static final String WEB = String.join("\n",
            ".encoding = \"UTF-8\"",
            "config.version = \"8\"",
            "virtualHW.version = \"20\"",
            "memSize = \"4096\"",
            "numvcpus = \"2\"",
            "firmware = \"efi\"",
            "scsi0.present = \"TRUE\"",
            "scsi0.virtualDev = \"pvscsi\"",
            "scsi0:0.present = \"TRUE\"",
            "scsi0:0.fileName = \"web.vmdk\"",
            "sata0.present = \"TRUE\"",
            "sata0:0.present = \"TRUE\"",
            "sata0:0.deviceType = \"cdrom-image\"",
            "sata0:0.fileName = \"/vmfs/volumes/ds1/iso/debian.iso\"",
            "sata0:1.present = \"TRUE\"",
            "sata0:1.fileName = \"web_1.vmdk\"",
            "ethernet1.present = \"TRUE\"",
            "ethernet1.virtualDev = \"e1000e\"",
            "ethernet1.networkName = \"Backup\"",
            "ethernet1.addressType = \"static\"",
            "ethernet1.address = \"00:50:56:3F:00:01\"",
            "ETHERNET0.PRESENT = \"TRUE\"",
            "ethernet0.virtualDev = \"vmxnet3\"",
            "ethernet0.networkName = \"VM Network\"",
            "ethernet0.addressType = \"generated\"",
            "ethernet0.generatedAddress = \"00:0c:29:ab:cd:ef\"",
            "ethernet2.present = \"FALSE\"",
            "ethernet2.virtualDev = \"vmxnet3\"",
            "");

    @Test
    void aVmxBecomesTheQemuStartWithTheHardwareItsGuestHasDriversFor() {
        List<String> notices = new ArrayList<>();
        Vmx.Launch launch = Vmx.parse(WEB).launch(2, Map.of("VM Network", "br0", "Backup", "br1"), true, notices::add);
        QemuLaunch qemu = launch.qemu();
        assertEquals(4096L << 20, qemu.memory());
        assertEquals(2, qemu.cpus());
        assertEquals(QemuLaunch.Firmware.UEFI, qemu.firmware());
        assertEquals("q35", qemu.machine());
        assertEquals(List.of(new Vmx.Disk("scsi", 0, 0, "web.vmdk", "pvscsi"),
                new Vmx.Disk("sata", 0, 1, "web_1.vmdk", "ich9-ahci")), launch.disks(), "CD-ROM left out, ESXi's order");
        assertEquals(List.of(new QemuLaunch.Nic("br0", Optional.of("00:0c:29:ab:cd:ef"), "vmxnet3"),
                new QemuLaunch.Nic("br1", Optional.of("00:50:56:3f:00:01"), "e1000e")), qemu.nics());
        assertEquals(List.of(), notices);
    }

    @Test
    void aTestStartHasNoCardsAndAVmPointWithFewerDisksStartsOnTheFirst() {
        List<String> notices = new ArrayList<>();
        Vmx.Launch launch = Vmx.parse(WEB).launch(1, Map.of(), false, notices::add);
        assertEquals(List.of(), launch.qemu().nics());
        assertEquals(List.of("scsi0:0"), launch.disks().stream().map(Vmx.Disk::slot).toList());
        assertEquals(List.of("the .vmx has 2 hard disks and the VM point 1: the VM starts with scsi0:0"), notices);
    }

    @Test
    void ideMeansThePcMachineAndControllersQemuLacksAreSaid() {
        List<String> notices = new ArrayList<>();
        Vmx.Launch old = Vmx.parse("memsize = \"512\"\nide0:0.present = \"TRUE\"\nide0:0.fileName = \"old.vmdk\"\n"
                + "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"data.vmdk\"\n").launch(2, Map.of(), false, notices::add);
        assertEquals("pc", old.qemu().machine());
        assertEquals(1, old.qemu().cpus());
        assertEquals(QemuLaunch.Firmware.BIOS, old.qemu().firmware());
        assertEquals(List.of("scsi0:0", "ide0:0"), old.disks().stream().map(Vmx.Disk::slot).toList());
        assertEquals("mptsas1068", old.disks().get(0).controllerModel(), "an LSI Logic parallel controller");
        assertTrue(notices.get(0).startsWith("scsi0 is an LSI Logic parallel controller"), notices.toString());
    }

    @Test
    void whatCannotBeStartedIsRefusedByName() {
        IllegalArgumentException network = assertThrows(IllegalArgumentException.class,
                () -> Vmx.parse(WEB).launch(2, Map.of("VM Network", "br0"), true, n -> { }));
        assertEquals("ethernet1 is on port group 'Backup', which no bridge stands for here: add --network "
                + "'Backup=BRIDGE'", network.getMessage());
        assertEquals("the .vmx has no memSize", assertThrows(IllegalArgumentException.class,
                () -> Vmx.parse("numvcpus = \"1\"").launch(0, Map.of(), false, n -> { })).getMessage());
        assertEquals("the .vmx has 2 hard disk(s) and the VM point 3", assertThrows(IllegalArgumentException.class,
                () -> Vmx.parse(WEB).launch(3, Map.of(), false, n -> { })).getMessage());
        assertEquals(".vmx line 2 is not key = \"value\": memsize 512", assertThrows(IllegalArgumentException.class,
                () -> Vmx.parse("# a comment\nmemsize 512")).getMessage());
        assertEquals("'lots' in the .vmx is not a number", assertThrows(IllegalArgumentException.class,
                () -> Vmx.parse("memsize = \"lots\"").launch(0, Map.of(), false, n -> { })).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Vmx.parse("memsize = \"64\"\n"
                + "sata0:9.present = \"TRUE\"\nsata0:9.fileName = \"x.vmdk\"").launch(1, Map.of(), false, n -> { }))
                .getMessage().startsWith("disk sata0:9 has no place on QEMU's AHCI controller"));
    }
}
