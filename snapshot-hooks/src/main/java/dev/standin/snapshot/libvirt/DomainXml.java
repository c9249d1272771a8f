package dev.standin.snapshot.libvirt;

import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * What standin reads of a domain definition: its name, its disks and the DAC label its QEMU runs
 * under. Pure: a string in, values out. Documents with a DOCTYPE are refused (no entity tricks).
 */
public final class DomainXml {

    /**
     * One {@code <disk device='disk'>}: its target ({@code vda}), its image file or block device
     * (empty for network and volume disks, which standin cannot read), and its format
     * ({@code raw}, {@code qcow2}; {@code raw} when the driver names none).
     */
    public record Disk(String target, Optional<String> source, String format, String type) { }

    private final Element domain;

    private DomainXml(Element domain) {
        this.domain = domain;
    }

    /** @throws IllegalArgumentException naming what is wrong, when {@code xml} is not a domain */
    public static DomainXml parse(String xml) {
        Element root = document(xml).getDocumentElement();
        if (!root.getTagName().equals("domain")) {
            throw new IllegalArgumentException("not a libvirt domain definition (its root is <" + root.getTagName() + ">)");
        }
        return new DomainXml(root);
    }

    /** A DOM of {@code xml}, parsed with DOCTYPEs refused. */
    public static Document document(String xml) {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setExpandEntityReferences(false);
            return factory.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
        } catch (ParserConfigurationException | SAXException | IOException e) {
            throw new IllegalArgumentException("not XML: " + e.getMessage(), e);
        }
    }

    public String name() {
        return child(domain, "name").map(e -> e.getTextContent().strip()).filter(s -> !s.isEmpty())
                .orElseThrow(() -> new IllegalArgumentException("the domain definition has no <name>"));
    }

    /** The disks in the order the definition lists them (CD-ROMs and floppies left out). */
    public List<Disk> disks() {
        List<Disk> disks = new ArrayList<>();
        for (Element devices : children(domain, "devices")) {
            for (Element disk : children(devices, "disk")) {
                String device = disk.getAttribute("device");
                if (!device.isEmpty() && !device.equals("disk")) {
                    continue;
                }
                String type = disk.getAttribute("type");
                String target = child(disk, "target").map(t -> t.getAttribute("dev")).orElse("");
                Optional<String> source = child(disk, "source").map(s -> type.equals("block") ? s.getAttribute("dev")
                        : type.equals("file") ? s.getAttribute("file") : "").filter(s -> !s.isEmpty());
                String format = child(disk, "driver").map(d -> d.getAttribute("type")).filter(s -> !s.isEmpty())
                        .orElse("raw");
                disks.add(new Disk(target, source, format, type));
            }
        }
        return disks;
    }

    /**
     * The user and group QEMU runs as, from the DAC {@code <seclabel>} of a live definition
     * ({@code +64055:+64055}, or names): what a directory QEMU must write to is given to.
     */
    public Optional<String> dacLabel() {
        for (Element label : children(domain, "seclabel")) {
            if (label.getAttribute("model").equals("dac")) {
                Optional<String> text = child(label, "label").map(e -> e.getTextContent().strip())
                        .filter(s -> s.contains(":"));
                if (text.isPresent()) {
                    return text;
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<Element> child(Element parent, String tag) {
        return children(parent, tag).stream().findFirst();
    }

    /** The child elements of {@code parent} called {@code tag}, in document order. */
    public static List<Element> children(Element parent, String tag) {
        List<Element> found = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            Node n = nodes.item(i);
            if (n instanceof Element e && e.getTagName().equals(tag)) {
                found.add(e);
            }
        }
        return found;
    }
}
