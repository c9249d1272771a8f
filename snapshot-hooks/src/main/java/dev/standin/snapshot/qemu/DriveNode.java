package dev.standin.snapshot.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.StaleSnapshots;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A block node of a running VM as {@code query-named-block-nodes} describes it. */
record DriveNode(String name, String driver, Path image, long size) {

    /**
     * Finds NODE: a format node ({@code raw}, {@code qcow2}, any image format QEMU reads) or a
     * {@code file} node, at the top of its drive.
     */
    static DriveNode find(QmpClient qmp, String name) throws QmpException, SnapshotException {
        JsonNode node = named(qmp, name);
        if (node == null) {
            throw new SnapshotException("the VM has no block node named '" + name + "' (see query-named-block-nodes)", true);
        }
        String driver = node.path("drv").asText();
        if (PROTOCOLS.contains(driver)) {
            throw new SnapshotException("node '" + name + "' is a " + driver + " protocol node; name the format node "
                    + "above it (see query-named-block-nodes)", true);
        }
        JsonNode image = node.path("image");
        return new DriveNode(name, driver, Path.of(node.path("file").asText(image.path("filename").asText())),
                image.path("virtual-size").asLong());
    }

    /** Protocol drivers other than {@code file}: their format node above is the one to name. */
    private static final java.util.Set<String> PROTOCOLS = java.util.Set.of("host_device", "nbd", "iscsi", "rbd",
            "ssh", "http", "https", "gluster", "nfs", "null-co", "null-aio", "throttle", "copy-on-read", "blkdebug");

    /** A raw image (or a bare file node): the frozen image is the disk's bytes, read as a file. */
    boolean readAsFile() {
        return driver.equals("raw") || driver.equals("file");
    }

    /** The format of the image file, as a qcow2 overlay's backing format names it. */
    String backingFormat() {
        return readAsFile() ? "raw" : driver;
    }

    /** Only qcow2 stores dirty bitmaps in the image, so that they outlive the VM process. */
    boolean storesBitmaps() {
        return driver.equals("qcow2");
    }

    static boolean exists(QmpClient qmp, String name) throws QmpException {
        return named(qmp, name) != null;
    }

    /** True once {@code blockdev-snapshot} has put the node on top of another. */
    static boolean hasBacking(QmpClient qmp, String name) throws QmpException {
        JsonNode node = named(qmp, name);
        return node != null && node.has("backing_file"); // present only once a backing node is attached
    }

    /** Names of the dirty bitmaps on a node. */
    static List<String> bitmaps(QmpClient qmp, String name) throws QmpException {
        return bitmapInfo(qmp, name).stream().map(b -> b.path("name").asText()).toList();
    }

    static List<JsonNode> bitmapInfo(QmpClient qmp, String name) throws QmpException {
        JsonNode node = named(qmp, name);
        List<JsonNode> result = new ArrayList<>();
        if (node != null) {
            node.path("dirty-bitmaps").forEach(result::add);
        }
        return result;
    }

    /**
     * Refuses to stack a second overlay: if a standin node is already in this VM, another cycle is
     * running or a crashed one is not yet released, and either way its commit must come first.
     */
    void refuseForeignOverlay(QmpClient qmp) throws QmpException, SnapshotException {
        for (JsonNode node : qmp.execute("query-named-block-nodes", QmpClient.args().put("flat", true))) {
            String other = node.path("node-name").asText();
            if (other.startsWith(StaleSnapshots.PREFIX)) {
                throw new SnapshotException("the VM already has standin node '" + other + "' (another cycle is running, "
                        + "or a crashed one awaits release at the next start)", false);
            }
        }
    }

    private static JsonNode named(QmpClient qmp, String name) throws QmpException {
        for (JsonNode node : qmp.execute("query-named-block-nodes", QmpClient.args().put("flat", true))) {
            if (name.equals(node.path("node-name").asText())) {
                return node;
            }
        }
        return null;
    }
}
