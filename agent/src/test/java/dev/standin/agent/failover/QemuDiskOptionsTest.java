package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.standin.agent.vm.Vmx;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The QEMU options that put a failover's overlays on their disks' controllers, without starting QEMU. */
class QemuDiskOptionsTest {

    @Test
    void virtioByDefaultAndEachVmxControllerOnce() {
        List<Path> overlays = List.of(Path.of("/r/a.qcow2"), Path.of("/r/b,c.qcow2"), Path.of("/r/d.qcow2"));
        assertEquals(List.of("-drive", "file=/r/a.qcow2,format=qcow2,if=virtio,node-name=disk0"),
                QemuMachine.diskOptions(overlays.subList(0, 1), List.of()));
        assertEquals(List.of(
                "-drive", "file=/r/a.qcow2,format=qcow2,if=none,id=drive0,node-name=disk0",
                "-device", "pvscsi,id=scsi0",
                "-device", "scsi-hd,drive=drive0,bus=scsi0.0,scsi-id=0,bootindex=0",
                "-drive", "file=/r/b,,c.qcow2,format=qcow2,if=none,id=drive1,node-name=disk1",
                "-device", "scsi-hd,drive=drive1,bus=scsi0.0,scsi-id=1",
                "-drive", "file=/r/d.qcow2,format=qcow2,if=none,id=drive2,node-name=disk2",
                "-device", "ich9-ahci,id=sata0",
                "-device", "ide-hd,drive=drive2,bus=sata0.3"),
                QemuMachine.diskOptions(overlays, List.of(new Vmx.Disk("scsi", 0, 0, "a.vmdk", "pvscsi"),
                        new Vmx.Disk("scsi", 0, 1, "b.vmdk", "pvscsi"), new Vmx.Disk("sata", 0, 3, "d.vmdk", "ich9-ahci"))));
    }
}
