package dev.standin.agent.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * The VM point record's codec (docs/vm-points-format.md), without I/O: every record round-trips;
 * every truncation, bit flip and out-of-range field is refused with the format's error.
 */
class VmPointFormatProperties {

    @Property
    void everyRecordRoundTrips(@ForAll("points") VmPoint point) throws Exception {
        byte[] bytes = VmPointFormat.encode(point);
        VmPoint read = VmPointFormat.decode(bytes, "record");
        assertEquals(point, read);
        assertArrayEquals(bytes, VmPointFormat.encode(read));
    }

    @Property
    void aTruncatedRecordIsRefused(@ForAll("points") VmPoint point, @ForAll @IntRange(min = 0) int cut) {
        byte[] bytes = VmPointFormat.encode(point);
        byte[] truncated = Arrays.copyOf(bytes, Math.floorMod(cut, bytes.length));
        VmPointFormatException e = assertThrows(VmPointFormatException.class,
                () -> VmPointFormat.decode(truncated, "record"));
        assertFalse(e.otherVersion());
    }

    @Property
    void aFlippedBitIsRefused(@ForAll("points") VmPoint point, @ForAll @IntRange(min = 0) int where) {
        byte[] bytes = VmPointFormat.encode(point);
        int bit = Math.floorMod(where, bytes.length * 8);
        bytes[bit / 8] ^= (byte) (1 << (bit % 8));
        assertThrows(VmPointFormatException.class, () -> VmPointFormat.decode(bytes, "record"));
    }

    /** A body that is intact (its checksum matches) but says something impossible is refused by name. */
    @Property
    void anImpossibleFieldIsRefused(@ForAll("points") VmPoint point,
            @ForAll @IntRange(min = 0, max = 6) int field) {
        String body = new String(Arrays.copyOfRange(VmPointFormat.encode(point), VmPointFormat.HEADER,
                VmPointFormat.encode(point).length - 4), StandardCharsets.UTF_8);
        String bad = switch (field) {
            case 0 -> body.replaceFirst("\"replica\":\"[^\"]*\"", "\"replica\":\"../etc/passwd\"");
            case 1 -> body.replaceFirst("\"point\":[0-9]+", "\"point\":0");
            case 2 -> body.replaceFirst("\"digest\":\"[0-9a-f]*\"", "\"digest\":\"abc\"");
            case 3 -> body.replaceFirst("\"vm\":\"[^\"]*\"", "\"vm\":\"a/b\"");
            case 4 -> body.replaceFirst("\\{", "{\"unknown\":1,");
            case 5 -> body.replaceFirst("\"time\":\"[^\"]*\"", "\"time\":\"yesterday\"");
            default -> body.replaceFirst("\"disks\":\\[.*\\]", "\"disks\":[]");
        };
        VmPointFormatException e = assertThrows(VmPointFormatException.class,
                () -> VmPointFormat.decode(frame(1, bad), "record"));
        assertTrue(e.getMessage().startsWith("record is a damaged VM point record: "), e.getMessage());
    }

    /** Version 2's launch fields: refused in a version 1 record, and checked in a version 2 one. */
    @Example
    void firmwareAndNicsAreVersion2AndChecked() {
        String disks = "\"disks\":[{\"replica\":\"a.img\",\"point\":1,\"length\":0,\"digest\":\"" + "0".repeat(64)
                + "\"}]";
        String head = "{\"id\":1,\"vm\":\"web\",\"time\":\"2026-12-04T03:00:00Z\"," + disks
                + ",\"qemu\":{\"memory\":268435456,\"cpus\":1,\"machine\":\"q35\"";
        String v2 = head + ",\"firmware\":\"uefi\",\"nics\":[{\"bridge\":\"br0\",\"model\":\"virtio-net-pci\"}]}}";
        assertThrows(VmPointFormatException.class, () -> VmPointFormat.decode(frame(1, v2), "record"));
        for (String bad : List.of(v2.replace("uefi", "coreboot"), v2.replace("br0", "br0; rm -rf /"),
                v2.replace("\"model\"", "\"mac\":\"01:00:5e:00:00:01\",\"model\""), v2.replace("virtio-net-pci", "-x"),
                head + ",\"firmware\":\"bios\"}}")) {
            VmPointFormatException e = assertThrows(VmPointFormatException.class,
                    () -> VmPointFormat.decode(frame(2, bad), "record"), bad);
            assertTrue(e.getMessage().startsWith("record is a damaged VM point record: "), e.getMessage());
        }
    }

    @Example
    void anotherVersionIsSaidToBeOne() throws Exception {
        VmPointFormatException e = assertThrows(VmPointFormatException.class,
                () -> VmPointFormat.decode(frame(3, "{}"), "point-3"));
        assertTrue(e.otherVersion());
        assertEquals("point-3 is a VM point of format version 3; this standin reads 1 to 2", e.getMessage());
    }

    /** A record that says no more than version 1 could is written as version 1, for older replica hosts. */
    @Property
    void theVersionIsTheLowestThatHoldsTheRecord(@ForAll("points") VmPoint point) {
        boolean beyond = point.vmx().isPresent() || point.qemu().map(q -> q.firmware() != QemuLaunch.Firmware.BIOS
                || !q.nics().isEmpty()).orElse(false);
        assertEquals(beyond ? 2 : 1, ByteBuffer.wrap(VmPointFormat.encode(point)).getShort(8));
    }

    @Example
    void theLayoutIsTheDocumentedOne() {
        VmPoint point = new VmPoint(3, "web", Instant.parse("2026-12-04T03:00:00Z"), List.of(new VmPoint.Disk("web.img",
                7, 4096, new byte[32])), Optional.of(new QemuLaunch(1L << 30, 2, "q35")));
        byte[] bytes = VmPointFormat.encode(point);
        String body = new String(bytes, 16, bytes.length - 20, StandardCharsets.UTF_8);
        assertEquals("STVMPT1\n", new String(bytes, 0, 8, StandardCharsets.US_ASCII));
        assertEquals(1, ByteBuffer.wrap(bytes).getShort(8));
        assertEquals(body.length(), ByteBuffer.wrap(bytes).getInt(12));
        assertEquals("{\"id\":3,\"vm\":\"web\",\"time\":\"2026-12-04T03:00:00Z\",\"disks\":[{\"replica\":\"web.img\","
                + "\"point\":7,\"length\":4096,\"digest\":\"" + "0".repeat(64) + "\"}],\"qemu\":{\"memory\":1073741824,"
                + "\"cpus\":2,\"machine\":\"q35\"}}", body);
    }

    /** A record around {@code body} with a correct checksum. */
    private static byte[] frame(int version, String body) {
        byte[] json = body.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(16 + json.length + 4);
        b.put(VmPointFormat.MAGIC).putShort((short) version).putShort((short) 0).putInt(json.length).put(json);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    @Provide
    Arbitrary<VmPoint> points() {
        Arbitrary<VmPoint.Disk> disk = Combinators.combine(
                Arbitraries.strings().withChars("abcxyz0123456789._-").ofMinLength(1).ofMaxLength(40)
                        .filter(s -> !s.equals(".") && !s.equals("..") && !s.startsWith("-")),
                Arbitraries.longs().between(1, Long.MAX_VALUE / 2),
                Arbitraries.longs().between(0, 1L << 50),
                Arbitraries.bytes().array(byte[].class).ofSize(32)).as(VmPoint.Disk::new);
        Arbitrary<QemuLaunch.Nic> nic = Combinators.combine(Arbitraries.of("br0", "vmbr1", "bond0.42", "dr-lan"),
                Arbitraries.integers().between(0, 0xffffff).map(i -> String.format("52:54:00:%02x:%02x:%02x",
                        i >> 16, (i >> 8) & 0xff, i & 0xff)).optional(),
                Arbitraries.of("virtio-net-pci", "e1000e")).as(QemuLaunch.Nic::new);
        Arbitrary<Optional<QemuLaunch>> qemu = Combinators.combine(
                Arbitraries.longs().between(16L << 20, 1L << 40), Arbitraries.integers().between(1, 255),
                Arbitraries.of("q35", "pc", "pc-q35-7.2"), Arbitraries.of(QemuLaunch.Firmware.values()),
                nic.list().ofMaxSize(3)).as(QemuLaunch::new).optional();
        return Combinators.combine(
                Arbitraries.longs().between(0, Long.MAX_VALUE / 2),
                Arbitraries.strings().withChars("abcXYZ019._-").ofMinLength(1).ofMaxLength(30)
                        .filter(VmPoint::validName),
                Arbitraries.longs().between(0, 4_102_444_800_000L).map(Instant::ofEpochMilli),
                disk.list().ofMinSize(1).ofMaxSize(6).uniqueElements(VmPoint.Disk::replica),
                qemu, Arbitraries.strings().ofMaxLength(200).map(x -> "<domain><name>" + x + "</name></domain>")
                        .optional(),
                Arbitraries.strings().ofMaxLength(200).map(x -> "memSize = \"" + x + "\"\n").optional())
                .as(VmPoint::new);
    }
}
