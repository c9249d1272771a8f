package dev.standin.agent.supervise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.failure.StandinException;
import dev.standin.supervisor.config.SupervisorConfig;
import dev.standin.supervisor.config.SupervisorConfig.Disk;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A VM's disks: as listed, or a libvirt domain's own from its definition (no I/O). */
class TargetCyclesTest {

    private static final String DOMAIN = "<domain type='kvm'><name>web01</name><devices>"
            + "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            + "<source file='/var/lib/libvirt/images/web.qcow2'/><target dev='vda'/></disk>"
            + "<disk type='file' device='cdrom'><source file='/iso/debian.iso'/><target dev='sda'/></disk>"
            + "<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/vg0/web-data'/>"
            + "<target dev='vdb'/></disk></devices></domain>";

    @Test
    void aDomainWithoutListedDisksIsProtectedWithAllItsDisksThroughLibvirt() throws Exception {
        Vm vm = new Vm("web", List.of(), List.of(), Optional.empty(),
                Optional.of(new SupervisorConfig.Libvirt("web01", "qemu:///system")));
        assertEquals(List.of(new Disk("/var/lib/libvirt/images/web.qcow2", Optional.of("libvirt:web01")),
                new Disk("/dev/vg0/web-data", Optional.of("libvirt:web01"))), TargetCycles.disks(vm, Optional.of(DOMAIN)),
                "in the definition's order, the CD-ROM left out");
        Vm remote = new Vm("web", List.of(), List.of(), Optional.empty(),
                Optional.of(new SupervisorConfig.Libvirt("web01", "qemu+ssh://hv2/system")));
        assertEquals(Optional.of("libvirt:web01:qemu+ssh://hv2/system"),
                TargetCycles.disks(remote, Optional.of(DOMAIN)).get(0).snapshot());
    }

    @Test
    void listedDisksAreTakenAsListed() throws Exception {
        List<Disk> listed = List.of(new Disk("/srv/a.img", Optional.empty()));
        Vm vm = new Vm("web", listed, List.of(), Optional.empty(),
                Optional.of(new SupervisorConfig.Libvirt("web01", "qemu:///system")));
        assertEquals(listed, TargetCycles.disks(vm, Optional.of(DOMAIN)));
    }

    @Test
    void aDiskStandinCannotReadOrTwoDisksOfOneNameAreRefusedForGood() {
        Vm vm = new Vm("web", List.of(), List.of(), Optional.empty(),
                Optional.of(new SupervisorConfig.Libvirt("web01", "qemu:///system")));
        StandinException network = assertThrows(StandinException.class, () -> TargetCycles.disks(vm, Optional.of(
                "<domain><name>web01</name><devices><disk type='network' device='disk'><source protocol='rbd' "
                        + "name='pool/web'/><target dev='vda'/></disk></devices></domain>")));
        assertTrue(network.isPermanent());
        assertTrue(network.getMessage().startsWith("disk vda of domain web01 is a network disk"), network.getMessage());
        StandinException twice = assertThrows(StandinException.class, () -> TargetCycles.disks(vm, Optional.of(
                "<domain><name>web01</name><devices><disk type='file' device='disk'><source file='/a/disk.img'/>"
                        + "<target dev='vda'/></disk><disk type='file' device='disk'><source file='/b/disk.img'/>"
                        + "<target dev='vdb'/></disk></devices></domain>")));
        assertTrue(twice.getMessage().contains("have the file name disk.img"), twice.getMessage());
    }
}
