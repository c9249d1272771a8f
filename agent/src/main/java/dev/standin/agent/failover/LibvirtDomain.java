package dev.standin.agent.failover;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.libvirt.DomainXml;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * A replicated libvirt domain definition made ready to start on the replica host, without I/O:
 * each protected disk reads its qcow2 overlay instead of the source host's path, the serial
 * console is logged where the boot check reads it, and the QEMU guest agent has its channel. For
 * a test the domain also gets its own name, no UUID, and its NICs on an isolated network with
 * new MAC addresses, so it can run beside the production VM without meeting its network.
 */
public final class LibvirtDomain {

    private LibvirtDomain() {}

    /** What a failover changes: {@code overlays} by replica file name (the source's file name). */
    public record Changes(String name, boolean test, Map<String, Path> overlays, Path console,
            Optional<String> isolatedNetwork) { }

    /** The domain's own name in {@code xml}. */
    public static String name(String xml) throws StandinException {
        return text(parse(xml).getDocumentElement(), "name").orElseThrow(() -> new StandinException(ExitStatus.PROTOCOL,
                "the replicated domain definition has no <name>"));
    }

    /** {@code xml} with {@code changes} made; {@code notices} hears of each device left out. */
    public static String prepare(String xml, Changes changes, Consumer<String> notices) throws StandinException {
        Document doc = parse(xml);
        Element domain = doc.getDocumentElement();
        if (!domain.getTagName().equals("domain")) {
            throw new StandinException(ExitStatus.PROTOCOL, "the replicated definition is a <" + domain.getTagName()
                    + ">, not a libvirt <domain>");
        }
        String original = text(domain, "name").orElse("?");
        set(doc, domain, "name", changes.name());
        if (changes.test()) {
            children(domain, "uuid").forEach(domain::removeChild);
        }
        Element devices = children(domain, "devices").stream().findFirst().orElseGet(() -> {
            Element d = doc.createElement("devices");
            domain.appendChild(d);
            return d;
        });
        List<String> seen = new ArrayList<>();
        for (Element disk : children(devices, "disk")) {
            String device = disk.getAttribute("device").isEmpty() ? "disk" : disk.getAttribute("device");
            Optional<Element> source = children(disk, "source").stream().findFirst();
            String path = source.map(s -> s.hasAttribute("file") ? s.getAttribute("file") : s.getAttribute("dev"))
                    .orElse("");
            if (!device.equals("disk") && !device.equals("lun")) {
                source.ifPresent(disk::removeChild); // an ISO of the source host: the drive starts empty
                continue;
            }
            String replica = path.isEmpty() ? "" : Path.of(path).getFileName().toString();
            Path overlay = changes.overlays().get(replica);
            if (overlay == null) {
                throw new StandinException(ExitStatus.USAGE, "disk " + target(disk) + " of domain " + original + " ("
                        + (path.isEmpty() ? "no file" : path) + ") has no replica in this VM point: list it under the "
                        + "VM's disks on the source host, or remove it from the domain");
            }
            seen.add(replica);
            disk.setAttribute("type", "file");
            disk.setAttribute("device", "disk");
            children(disk, "source").forEach(disk::removeChild);
            children(disk, "backingStore").forEach(disk::removeChild);
            Element driver = children(disk, "driver").stream().findFirst().orElseGet(() -> {
                Element d = doc.createElement("driver");
                disk.insertBefore(d, disk.getFirstChild());
                return d;
            });
            driver.setAttribute("name", "qemu");
            driver.setAttribute("type", "qcow2");
            Element file = doc.createElement("source");
            file.setAttribute("file", overlay.toString());
            disk.insertBefore(file, driver.getNextSibling());
        }
        for (String replica : changes.overlays().keySet()) {
            if (!seen.contains(replica)) {
                notices.accept("replica " + replica + " is not a disk of domain " + original + "; it is not attached");
            }
        }
        for (String console : List.of("serial", "console")) {
            children(devices, console).forEach(devices::removeChild);
        }
        Element serial = doc.createElement("serial");
        serial.setAttribute("type", "pty");
        Element log = doc.createElement("log");
        log.setAttribute("file", changes.console().toString());
        log.setAttribute("append", "off");
        serial.appendChild(log);
        Element port = doc.createElement("target");
        port.setAttribute("port", "0");
        serial.appendChild(port);
        devices.appendChild(serial);
        boolean agent = children(devices, "channel").stream().anyMatch(c -> children(c, "target").stream()
                .anyMatch(t -> t.getAttribute("name").equals("org.qemu.guest_agent.0")));
        if (!agent) {
            Element channel = doc.createElement("channel");
            channel.setAttribute("type", "unix");
            Element target = doc.createElement("target");
            target.setAttribute("type", "virtio");
            target.setAttribute("name", "org.qemu.guest_agent.0");
            channel.appendChild(target);
            devices.appendChild(channel);
        }
        if (changes.test()) {
            for (Element nic : children(devices, "interface")) {
                Element isolated = doc.createElement("interface");
                isolated.setAttribute("type", "network");
                Element source = doc.createElement("source");
                source.setAttribute("network", changes.isolatedNetwork().orElseThrow());
                isolated.appendChild(source);
                children(nic, "model").forEach(m -> isolated.appendChild(m.cloneNode(true)));
                devices.replaceChild(isolated, nic); // no <mac>: libvirt makes a new one
            }
            for (Element passed : children(devices, "hostdev")) {
                devices.removeChild(passed);
                notices.accept("a passed-through host device of " + original + " is left out of the test");
            }
        }
        return write(doc);
    }

    private static String target(Element disk) {
        return children(disk, "target").stream().findFirst().map(t -> t.getAttribute("dev")).orElse("?");
    }

    private static Document parse(String xml) throws StandinException {
        try {
            return DomainXml.document(xml);
        } catch (IllegalArgumentException e) {
            throw new StandinException(ExitStatus.PROTOCOL, "the replicated domain definition is " + e.getMessage());
        }
    }

    private static String write(Document doc) throws StandinException {
        try {
            var transformer = TransformerFactory.newInstance().newTransformer();
            transformer.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter out = new StringWriter();
            transformer.transform(new DOMSource(doc), new StreamResult(out));
            return out.toString();
        } catch (TransformerException e) {
            throw new StandinException(ExitStatus.ERROR, "cannot write the domain definition: " + e.getMessage(), e);
        }
    }

    private static List<Element> children(Element parent, String tag) {
        return DomainXml.children(parent, tag);
    }

    private static Optional<String> text(Element parent, String tag) {
        return children(parent, tag).stream().findFirst().map(e -> e.getTextContent().strip());
    }

    private static void set(Document doc, Element parent, String tag, String value) {
        Element e = children(parent, tag).stream().findFirst().orElseGet(() -> {
            Element created = doc.createElement(tag);
            parent.insertBefore(created, parent.getFirstChild());
            return created;
        });
        e.setTextContent(value);
    }
}
