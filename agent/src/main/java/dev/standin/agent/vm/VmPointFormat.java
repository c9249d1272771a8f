package dev.standin.agent.vm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The VM point record (docs/vm-points-format.md): a 16-byte header (magic, version, length), a
 * UTF-8 JSON body, a CRC32C. The body is read strictly: a field it does not know, one missing or
 * out of range is a damaged record, never a guess.
 */
public final class VmPointFormat {

    static final byte[] MAGIC = "STVMPT1\n".getBytes(StandardCharsets.US_ASCII);
    /**
     * Version 2 adds the QEMU launch spec's firmware and NICs, and an ESXi VM's .vmx; a record
     * without them is written as version 1.
     */
    static final int VERSION = 2;
    static final int HEADER = 16;
    /** A body is a few hundred bytes per disk; a megabyte is a damaged length field, not a VM. */
    public static final int MAX_BODY = 1 << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    private VmPointFormat() {}

    public static byte[] encode(VmPoint point) {
        ObjectNode body = JSON.createObjectNode();
        body.put("id", point.id());
        body.put("vm", point.vm());
        body.put("time", point.time().toString());
        ArrayNode disks = body.putArray("disks");
        for (VmPoint.Disk d : point.disks()) {
            disks.addObject().put("replica", d.replica()).put("point", d.point()).put("length", d.length())
                    .put("digest", d.digestHex());
        }
        // Version 1 where it says all: a replica host with an older standin still records the point.
        int version = point.vmx().isPresent() || point.qemu().map(q -> q.firmware() != QemuLaunch.Firmware.BIOS
                || !q.nics().isEmpty()).orElse(false) ? VERSION : 1;
        point.qemu().ifPresent(q -> {
            ObjectNode qemu = body.putObject("qemu").put("memory", q.memory()).put("cpus", q.cpus())
                    .put("machine", q.machine());
            if (version >= 2) {
                qemu.put("firmware", q.firmware().text());
                ArrayNode nics = qemu.putArray("nics");
                for (QemuLaunch.Nic nic : q.nics()) {
                    ObjectNode n = nics.addObject().put("bridge", nic.bridge()).put("model", nic.model());
                    nic.mac().ifPresent(m -> n.put("mac", m));
                }
            }
        });
        point.libvirt().ifPresent(xml -> body.putObject("libvirt").put("xml", xml));
        point.vmx().ifPresent(vmx -> body.putObject("esxi").put("vmx", vmx));
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings and numbers always serialises", e);
        }
        if (json.length > MAX_BODY) {
            throw new IllegalArgumentException("a VM point of " + json.length + " bytes");
        }
        ByteBuffer out = ByteBuffer.allocate(HEADER + json.length + 4);
        out.put(MAGIC).putShort((short) version).putShort((short) 0).putInt(json.length).put(json);
        CRC32C crc = new CRC32C();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }

    /** The record in {@code bytes}; {@code what} names it in errors (a file, "the sender's record"). */
    public static VmPoint decode(byte[] bytes, String what) throws VmPointFormatException {
        if (bytes.length < HEADER + 4) {
            throw damaged(what, "it is " + bytes.length + " bytes, shorter than a header and checksum");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        byte[] magic = new byte[MAGIC.length];
        in.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw damaged(what, "it does not start with the VM point magic");
        }
        int version = Short.toUnsignedInt(in.getShort());
        int reserved = Short.toUnsignedInt(in.getShort());
        long length = Integer.toUnsignedLong(in.getInt());
        if (length > MAX_BODY || bytes.length != HEADER + length + 4) {
            throw damaged(what, "its length field says " + length + " bytes of " + (bytes.length - HEADER - 4));
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt()) {
            throw damaged(what, "CRC32C mismatch");
        }
        if (version < 1 || version > VERSION) {
            throw new VmPointFormatException(what + " is a VM point of format version " + version + "; this standin reads "
                    + "1 to " + VERSION, true);
        }
        if (reserved != 0) {
            throw damaged(what, "a reserved field is " + reserved);
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, HEADER, (int) length)).toString();
            return body(JSON.readTree(text), version);
        } catch (CharacterCodingException e) {
            throw damaged(what, "its body is not UTF-8");
        } catch (JsonProcessingException e) {
            throw damaged(what, "its body is not JSON");
        } catch (IllegalArgumentException | DateTimeParseException e) {
            throw damaged(what, e.getMessage());
        }
    }

    private static VmPoint body(JsonNode body, int version) {
        only(body, "body", Set.of("id", "vm", "time", "disks"), version >= 2 ? Set.of("qemu", "libvirt", "esxi")
                : Set.of("qemu", "libvirt"));
        JsonNode disksNode = body.get("disks");
        if (!disksNode.isArray()) {
            throw new IllegalArgumentException("'disks' is not a list");
        }
        List<VmPoint.Disk> disks = new ArrayList<>();
        for (JsonNode d : disksNode) {
            only(d, "a disk", Set.of("replica", "point", "length", "digest"), Set.of());
            String hex = text(d, "digest");
            if (!hex.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("a digest is not 64 hex digits");
            }
            disks.add(new VmPoint.Disk(text(d, "replica"), number(d, "point"), number(d, "length"),
                    HexFormat.of().parseHex(hex)));
        }
        Optional<QemuLaunch> qemu = Optional.empty();
        if (body.has("qemu")) {
            JsonNode q = body.get("qemu");
            only(q, "'qemu'", version >= 2 ? Set.of("memory", "cpus", "machine", "firmware", "nics")
                    : Set.of("memory", "cpus", "machine"), Set.of());
            long cpus = number(q, "cpus");
            if (cpus > 255) {
                throw new IllegalArgumentException(cpus + " CPUs");
            }
            QemuLaunch.Firmware firmware = QemuLaunch.Firmware.BIOS;
            List<QemuLaunch.Nic> nics = new ArrayList<>();
            if (version >= 2) {
                firmware = QemuLaunch.Firmware.parse(text(q, "firmware"));
                if (!q.get("nics").isArray()) {
                    throw new IllegalArgumentException("'nics' is not a list");
                }
                for (JsonNode n : q.get("nics")) {
                    only(n, "a NIC", Set.of("bridge", "model"), Set.of("mac"));
                    nics.add(new QemuLaunch.Nic(text(n, "bridge"), n.has("mac") ? Optional.of(text(n, "mac"))
                            : Optional.empty(), text(n, "model")));
                }
            }
            qemu = Optional.of(new QemuLaunch(number(q, "memory"), (int) cpus, text(q, "machine"), firmware, nics));
        }
        Optional<String> libvirt = Optional.empty();
        if (body.has("libvirt")) {
            JsonNode l = body.get("libvirt");
            only(l, "'libvirt'", Set.of("xml"), Set.of());
            libvirt = Optional.of(text(l, "xml"));
        }
        Optional<String> vmx = Optional.empty();
        if (body.has("esxi")) {
            JsonNode e = body.get("esxi");
            only(e, "'esxi'", Set.of("vmx"), Set.of());
            vmx = Optional.of(text(e, "vmx"));
        }
        return new VmPoint(number(body, "id"), text(body, "vm"), Instant.parse(text(body, "time")), disks, qemu,
                libvirt, vmx);
    }

    private static void only(JsonNode node, String what, Set<String> required, Set<String> optional) {
        if (!node.isObject()) {
            throw new IllegalArgumentException(what + " is not an object");
        }
        for (String field : required) {
            if (!node.has(field)) {
                throw new IllegalArgumentException(what + " has no '" + field + "'");
            }
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!required.contains(name) && !optional.contains(name)) {
                throw new IllegalArgumentException(what + " has an unknown field '" + name + "'");
            }
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (!v.isTextual()) {
            throw new IllegalArgumentException("'" + field + "' is not a string");
        }
        return v.asText();
    }

    private static long number(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
            throw new IllegalArgumentException("'" + field + "' is not a whole number from 0 up");
        }
        return v.asLong();
    }

    private static VmPointFormatException damaged(String what, String why) {
        return new VmPointFormatException(what + " is a damaged VM point record: " + why, false);
    }
}
