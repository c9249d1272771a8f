package dev.standin.supervisor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.supervisor.config.SupervisorConfig.Target;
import dev.standin.supervisor.policy.Cadence;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The file as users write it, and every kind of mistake reported with its line. */
class ConfigReaderTest {

    static SupervisorConfig read(String yaml) throws ConfigException {
        return ConfigReader.read(new StringReader(yaml), "standin.yaml", SettingCheck.NONE);
    }

    static ConfigException refused(String yaml) {
        return assertThrows(ConfigException.class, () -> read(yaml));
    }

    @Test
    void theShippedFileProtectsNothingUntilEdited() throws Exception {
        SupervisorConfig config = ConfigReader.read(Path.of("../install/standin.yaml"), SettingCheck.NONE);
        assertEquals(2, config.maxParallel());
        assertEquals("127.0.0.1:9741", config.metrics().orElseThrow().toString());
        assertEquals(List.of(), config.vms());
    }

    /** The example the shipped file carries in comments, uncommented as its own words say. */
    @Test
    void theShippedExampleReadsOnceUncommented() throws Exception {
        String shipped = Files.readString(Path.of("../install/standin.yaml"));
        int example = shipped.indexOf("\n# vms:\n");
        assertTrue(example > 0, "the shipped file carries the example");
        String edited = shipped.substring(0, example + 1).replace("vms: {}", "")
                + shipped.substring(example + 1).replaceAll("(?m)^# ", "");
        SupervisorConfig config = read(edited);
        SupervisorConfig.Vm db = config.vm("db01").orElseThrow();
        assertEquals(Optional.of("qemu:/run/db01.qmp:drive-virtio-disk0"), db.disks().get(0).snapshot());
        Target local = db.targets().get(0);
        assertEquals(new Cadence.Rpo(Duration.ofMinutes(5)), local.policy().cadence());
        assertEquals(Optional.of("24"), local.settings().option("keep-points"));
        assertEquals(Optional.of("/etc/standin/ssh/id_ed25519"), local.settings().option("identity"), "from the top");
        Target dr = db.targets().get(1);
        assertEquals(Duration.ofDays(1), dr.policy().rpo(), "a daily schedule's RPO is a day");
        assertEquals(Optional.of(Duration.ofDays(7)), dr.policy().verify());
        ZonedDateTime tuesdayNoon = ZonedDateTime.of(2026, 12, 1, 12, 0, 0, 0, ZoneId.systemDefault());
        assertEquals("10M", dr.settings().bwlimit().orElseThrow().at(tuesdayNoon));
        assertEquals("0", dr.settings().bwlimit().orElseThrow().at(tuesdayNoon.plusDays(4)), "Saturday");
    }

    @Test
    void theNearestSettingWins() throws Exception {
        SupervisorConfig config = read("""
                compress: lz4
                threads: 2
                vms:
                  web:
                    compress: zstd
                    disks: [{source: /img/web.img}]
                    targets:
                      - dest: /r/a/
                        rpo: 1h
                        threads: 4
                      - dest: /r/b/
                        continuous: true
                """);
        Target a = config.vm("web").get().targets().get(0);
        Target b = config.vm("web").get().targets().get(1);
        assertEquals(Optional.of("zstd"), a.settings().option("compress"));
        assertEquals(Optional.of("4"), a.settings().option("threads"));
        assertEquals(Optional.of("2"), b.settings().option("threads"));
        assertEquals(new Cadence.Continuous(Duration.ofSeconds(10)), b.policy().cadence());
    }

    @Test
    void anUnknownKeyIsRefusedWithItsLineAndASuggestion() {
        ConfigException e = refused("""
                vms:
                  db01:
                    disks: [{source: /img/db.img}]
                    targets:
                      - dest: /r/
                        rpoo: 5m
                """);
        assertEquals(6, e.line());
        assertEquals("standin.yaml:6: unknown key 'rpoo' in a target of db01 (did you mean 'rpo'?)", e.getMessage());
    }

    @Test
    void aBadDurationNamesTheKeyAndTheLine() {
        ConfigException e = refused("""
                vms:
                  db01:
                    disks: [{source: /img/db.img}]
                    targets:
                      - dest: /r/
                        rpo: 5 minutes
                """);
        assertEquals(6, e.line());
        assertTrue(e.reason().startsWith("rpo: '5 minutes' is not a duration"), e.reason());
    }

    @Test
    void aQemuLaunchSpecIsReadWithItsDefaultsAndCheckedWithItsLine() throws Exception {
        SupervisorConfig c = read("""
                vms:
                  web:
                    qemu: { memory: 2G, cpus: 2 }
                    disks: [{source: /img/web.img}]
                    targets: [{dest: /r/, rpo: 1h}]
                  db:
                    qemu: { memory: 512M, machine: pc }
                    disks: [{source: /img/db.img}]
                    targets: [{dest: /r/, rpo: 1h}]
                  plain:
                    disks: [{source: /img/plain.img}]
                    targets: [{dest: /r/, rpo: 1h}]
                """);
        assertEquals(Optional.of(new SupervisorConfig.Qemu(2L << 30, 2, "q35")), c.vms().get(0).qemu());
        assertEquals(Optional.of(new SupervisorConfig.Qemu(512L << 20, 1, "pc")), c.vms().get(1).qemu());
        assertEquals(Optional.empty(), c.vms().get(2).qemu());
        ConfigException small = refused("vms:\n  web:\n    qemu:\n      memory: 1M\n"
                + "    disks: [{source: /a.img}]\n    targets: [{dest: /r/, rpo: 1h}]\n");
        assertEquals(4, small.line());
        assertTrue(small.reason().contains("from 16M to 16T"), small.reason());
        assertTrue(refused("vms:\n  web:\n    qemu: { memory: 1G, cpu: 2 }\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h}]\n").reason().contains("cpu"));
        assertTrue(refused("vms:\n  web:\n    qemu: { memory: 1G, cpus: 0 }\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h}]\n").reason().contains("cpus"));
        assertTrue(refused("vms:\n  web:\n    qemu: { cpus: 1 }\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h}]\n").reason().contains("memory"));
    }

    @Test
    void aLaunchSpecMayBootWithUefiAndHaveNicsOnBridges() throws Exception {
        SupervisorConfig c = read("vms:\n  web:\n    qemu:\n      memory: 1G\n      firmware: uefi\n      nics:\n"
                + "        - {bridge: br0, mac: 52:54:00:AA:BB:01}\n        - {bridge: dmz, model: e1000e}\n"
                + "    disks: [{source: /a.img}]\n    targets: [{dest: /r/, rpo: 1h}]\n");
        assertEquals(new SupervisorConfig.Qemu(1L << 30, 1, "q35", "uefi", List.of(
                new SupervisorConfig.Nic("br0", Optional.of("52:54:00:aa:bb:01"), "virtio-net-pci"),
                new SupervisorConfig.Nic("dmz", Optional.empty(), "e1000e"))), c.vms().get(0).qemu().orElseThrow());
        for (String[] bad : new String[][] {{"firmware: coreboot", "firmware 'coreboot' of web is bios or uefi"},
                {"nics: [{bridge: 'br0 up'}]", "bridge 'br0 up' of web is not a network interface name"},
                {"nics: [{bridge: br0, mac: '01:00:5e:00:00:01'}]", "is not a unicast MAC address"},
                {"nics: [{brige: br0}]", "brige"}}) {
            ConfigException e = refused("vms:\n  web:\n    qemu:\n      memory: 1G\n      " + bad[0] + "\n"
                    + "    disks: [{source: /a.img}]\n    targets: [{dest: /r/, rpo: 1h}]\n");
            assertTrue(e.reason().contains(bad[1]), e.reason());
        }
    }

    @Test
    void aLibvirtDomainIsNamedWithItsUriAndNotBesideALaunchSpec() throws Exception {
        SupervisorConfig c = read("vms:\n  web:\n    libvirt: web01\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h, boot-check: daily}]\n"
                + "  db:\n    libvirt: db01\n    libvirt-uri: qemu+ssh://hv2/system\n    disks: [{source: /b.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h}]\n");
        assertEquals(Optional.of(new SupervisorConfig.Libvirt("web01", "qemu:///system")), c.vms().get(0).libvirt());
        assertEquals("qemu+ssh://hv2/system", c.vms().get(1).libvirt().orElseThrow().uri());
        assertTrue(refused("vms:\n  web:\n    libvirt: web01\n    qemu: { memory: 1G }\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h}]\n").reason().contains("both qemu and libvirt"));
        assertTrue(refused("vms:\n  web:\n    libvirt-uri: qemu:///system\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h}]\n").reason().contains("libvirt-uri goes with libvirt"));
    }

    @Test
    void aLibvirtDomainWithoutDisksHasTheDomainsOwnAndAnyOtherVmNeedsThem() throws Exception {
        SupervisorConfig c = read("vms:\n  web:\n    libvirt: web01\n    targets: [{dest: /r/, rpo: 1h}]\n");
        assertEquals(List.of(), c.vms().get(0).disks(), "found from the domain at each cycle");
        ConfigException e = refused("vms:\n  web:\n    qemu: { memory: 1G }\n    targets: [{dest: /r/, rpo: 1h}]\n");
        assertTrue(e.reason().contains("disks"), e.reason());
        assertTrue(refused("vms:\n  web:\n    libvirt: web01\n    disks: []\n    targets: [{dest: /r/, rpo: 1h}]\n")
                .reason().contains("leave disks out for a libvirt domain's own"));
    }

    @Test
    void aBootCheckIsScheduledPerTargetAndNeedsALaunchSpec() throws Exception {
        SupervisorConfig c = read("vms:\n  web:\n    qemu: { memory: 1G }\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h, boot-check: daily}, {dest: /s/, rpo: 1h, boot-check: 6h}]\n");
        assertEquals(Optional.of(java.time.Duration.ofDays(1)), c.vms().get(0).targets().get(0).policy().bootCheck());
        assertEquals(Optional.of(java.time.Duration.ofHours(6)), c.vms().get(0).targets().get(1).policy().bootCheck());
        assertEquals(java.time.Duration.ofMinutes(10), c.vms().get(0).targets().get(0).bootCheckTimeout());
        assertEquals(java.time.Duration.ofMinutes(3), read("vms:\n  web:\n    qemu: { memory: 1G }\n"
                + "    disks: [{source: /a.img}]\n    targets: [{dest: /r/, rpo: 1h, boot-check: daily, "
                + "boot-check-timeout: 3m}]\n").vms().get(0).targets().get(0).bootCheckTimeout());
        assertTrue(refused("vms:\n  web:\n    qemu: { memory: 1G }\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h, boot-check-timeout: 1s}]\n").reason()
                .contains("boot-check-timeout is from 10s to 1d, not 1s"));
        ConfigException e = refused("vms:\n  web:\n    disks: [{source: /a.img}]\n"
                + "    targets:\n      - dest: /r/\n        rpo: 1h\n        boot-check: daily\n");
        assertEquals(7, e.line());
        assertTrue(e.reason().contains("give the VM its libvirt domain"), e.reason());
    }

    @Test
    void missingFieldsAndWrongKindsAreRefused() {
        assertTrue(refused("vms:\n  db01:\n    targets: [{dest: /r/, rpo: 5m}]\n").reason()
                .contains("VM db01 has no disks"));
        assertTrue(refused("vms:\n  db01:\n    disks: [{source: /a.img}]\n    targets: [{dest: /r/}]\n").reason()
                .contains("has no rpo, schedule or continuous"));
        assertTrue(refused("vms:\n  db01:\n    disks: {source: /a.img}\n").reason()
                .contains("disks of db01 must be a list"));
        assertTrue(refused("max-parallel: two\n").reason().contains("max-parallel must be a whole number"));
        assertTrue(refused("vms:\n  db01:\n    disks: [{source: /a/x.img}, {source: /b/x.img}]\n"
                + "    targets: [{dest: /r/, rpo: 1h}]\n").reason().contains("have the file name x.img"));
        assertTrue(refused("vms:\n  db01:\n    disks: [{source: /a.img}]\n    targets: [{dest: /r/, rpo: 1h}]\n"
                + "  db01:\n    disks: []\n").reason().contains("'db01' is given twice (first on line 2)"));
        assertTrue(refused("vms:\n  db01:\n    disks: [{source: /a.img}]\n"
                + "    targets: [{dest: /r/, rpo: 10s}]\n").reason().contains("an RPO under 30s"));
        assertTrue(refused("metrics: localhost\n").reason().contains("metrics is HOST:PORT"));
        assertTrue(refused("vms: [\n").reason().startsWith("not valid YAML"));
        assertTrue(refused("replica-roots: [srv/replicas]\n").reason()
                .contains("a replica root is an absolute directory, not srv/replicas"));
        assertTrue(refused("replica-roots: /srv/replicas\n").reason().contains("replica-roots must be a list"));
        assertTrue(refused("replica-roots: [/srv/r, /srv/r]\n").reason().contains("listed twice"));
    }

    @Test
    void theSettingCheckRefusesWithTheLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigReader.read(new StringReader("""
                vms:
                  db01:
                    disks: [{source: /img/db.img}]
                    targets:
                      - dest: /r/
                        rpo: 5m
                        compress: zstandard
                """), "f.yaml", (key, value) -> key.equals("compress") ? Optional.of("unknown codec " + value)
                : Optional.empty()));
        assertEquals("f.yaml:7: compress: unknown codec zstandard", e.getMessage());
    }

    @Test
    void anEmptyFileProtectsNothing() throws Exception {
        SupervisorConfig config = read("# nothing yet\n");
        assertTrue(config.vms().isEmpty());
        assertEquals(Path.of("/var/lib/standin"), config.stateDir());
        assertTrue(read("metrics: off\n").metrics().isEmpty());
    }
}
