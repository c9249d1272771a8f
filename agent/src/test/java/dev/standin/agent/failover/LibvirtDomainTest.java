package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.failure.StandinException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A replicated domain made ready to start at DR, without libvirt. */
class LibvirtDomainTest {

    static final String SOURCE = """
            <domain type='kvm'>
              <name>db01</name>
              <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
              <memory unit='KiB'>4194304</memory>
              <devices>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='raw' cache='none'/>
                  <source file='/var/lib/libvirt/images/db01.img'/>
                  <target dev='vda' bus='virtio'/>
                </disk>
                <disk type='block' device='disk'>
                  <driver name='qemu' type='raw'/>
                  <source dev='/dev/vg0/db01-data'/>
                  <target dev='vdb' bus='virtio'/>
                </disk>
                <disk type='file' device='cdrom'>
                  <source file='/srv/iso/debian.iso'/>
                  <target dev='sda' bus='sata'/>
                </disk>
                <interface type='bridge'>
                  <mac address='52:54:00:12:34:56'/>
                  <source bridge='br0'/>
                  <model type='virtio'/>
                </interface>
                <serial type='pty'><target port='0'/></serial>
                <console type='pty'><target type='serial' port='0'/></console>
              </devices>
            </domain>
            """;

    static Map<String, Path> overlays() {
        Map<String, Path> overlays = new LinkedHashMap<>();
        overlays.put("db01.img", Path.of("/srv/replicas/db01/.standin-vms/db01/failover/db01.img.qcow2"));
        overlays.put("db01-data", Path.of("/srv/replicas/db01/.standin-vms/db01/failover/db01-data.qcow2"));
        return overlays;
    }

    @Test
    void aTestGetsItsOwnNameNoUuidTheOverlaysAndAnIsolatedNetwork() throws Exception {
        List<String> notices = new ArrayList<>();
        String xml = LibvirtDomain.prepare(SOURCE, new LibvirtDomain.Changes("db01-standin-test", true, overlays(),
                Path.of("/run/x/console.log"), Optional.of("standin-isolated")), notices::add);
        assertEquals("db01-standin-test", LibvirtDomain.name(xml));
        assertFalse(xml.contains("<uuid>"), xml);
        assertTrue(xml.contains("<source file=\"/srv/replicas/db01/.standin-vms/db01/failover/db01.img.qcow2\"/>"), xml);
        assertTrue(xml.contains("db01-data.qcow2"), xml);
        assertFalse(xml.contains("/dev/vg0"), "the source host's paths are gone: " + xml);
        assertFalse(xml.contains("debian.iso"), "an ISO of the source host is ejected: " + xml);
        assertEquals(2, xml.split("type=\"qcow2\"", -1).length - 1, xml);
        assertFalse(xml.contains("52:54:00:12:34:56"), "a new MAC: " + xml);
        assertFalse(xml.contains("br0"), "not the production bridge: " + xml);
        assertTrue(xml.contains("<source network=\"standin-isolated\"/>"), xml);
        assertTrue(xml.contains("<model type=\"virtio\"/>"), xml);
        assertTrue(xml.contains("<log append=\"off\" file=\"/run/x/console.log\"/>"), xml);
        assertFalse(xml.contains("<console"), xml);
        assertTrue(xml.contains("org.qemu.guest_agent.0"), xml);
        assertEquals(List.of(), notices);
    }

    @Test
    void aRealFailoverKeepsTheDomainsNameUuidAndNetwork() throws Exception {
        String xml = LibvirtDomain.prepare(SOURCE, new LibvirtDomain.Changes("db01", false, overlays(),
                Path.of("/run/x/console.log"), Optional.empty()), line -> { });
        assertEquals("db01", LibvirtDomain.name(xml));
        assertTrue(xml.contains("4dea22b3-1d52-d8f3-2516-782e98ab3fa0"), xml);
        assertTrue(xml.contains("52:54:00:12:34:56") && xml.contains("br0"), xml);
    }

    @Test
    void aDiskWithoutAReplicaIsRefusedByName() {
        Map<String, Path> one = new LinkedHashMap<>();
        one.put("db01.img", Path.of("/o/db01.img.qcow2"));
        StandinException e = assertThrows(StandinException.class, () -> LibvirtDomain.prepare(SOURCE,
                new LibvirtDomain.Changes("db01", false, one, Path.of("/c.log"), Optional.empty()), line -> { }));
        assertEquals("disk vdb of domain db01 (/dev/vg0/db01-data) has no replica in this VM point: list it under the "
                + "VM's disks on the source host, or remove it from the domain", e.getMessage());
    }

    @Test
    void somethingThatIsNotADomainIsRefused() {
        assertThrows(StandinException.class, () -> LibvirtDomain.name("<domain><name>x"));
        assertThrows(StandinException.class, () -> LibvirtDomain.prepare("<network><name>n</name></network>",
                new LibvirtDomain.Changes("n", true, Map.of(), Path.of("/c"), Optional.of("i")), line -> { }));
        assertThrows(StandinException.class, () -> LibvirtDomain.name(
                "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>"));
    }
}
