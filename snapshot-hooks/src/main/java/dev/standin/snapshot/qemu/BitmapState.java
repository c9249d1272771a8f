package dev.standin.snapshot.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.snapshot.StaleSnapshots;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Properties;

/**
 * Whether the dirty bitmap on a drive can be trusted to hold every change since the view the
 * replica holds. Bitmaps are named {@code standin-REPLICAKEY-GENERATION}; the generation whose
 * view was last replicated is recorded in {@code STATE_DIR/qemu/tracking-REPLICAKEY.properties},
 * written only after the replica committed. Tracking is trusted only if that record exists, names
 * this VM socket, node and image, and its bitmap is present, recording and consistent. Anything else
 * (a VM restart drops non-persistent bitmaps, a crash between snapshot and commit, another chain)
 * means a full scan, and a fresh bitmap re-arms tracking for the cycle after.
 */
final class BitmapState {

    private final String prefix;
    private final long nextGeneration;
    private final String current;
    private final String reason;
    private final List<String> ours;
    private final String replicaDigest;
    private final String replicaKey;

    private BitmapState(String replicaKey, String prefix, long nextGeneration, String current, String reason, List<String> ours,
            String replicaDigest) {
        this.replicaDigest = replicaDigest;
        this.replicaKey = replicaKey;
        this.prefix = prefix;
        this.nextGeneration = nextGeneration;
        this.current = current;
        this.reason = reason;
        this.ours = ours;
    }

    static BitmapState load(QmpClient qmp, Path stateDirectory, String replicaKey, Path socket, DriveNode drive)
            throws QmpException, IOException {
        if (!replicaKey.matches("[a-z0-9]{1,32}")) {
            throw new IllegalArgumentException("replica key '" + replicaKey + "' must be 1-32 lower-case letters or digits");
        }
        String prefix = StaleSnapshots.PREFIX + replicaKey + "-";
        List<JsonNode> bitmaps = DriveNode.bitmapInfo(qmp, drive.name()).stream()
                .filter(b -> b.path("name").asText().startsWith(prefix)).toList();
        long highest = 0;
        for (JsonNode b : bitmaps) {
            highest = Math.max(highest, generation(prefix, b.path("name").asText()));
        }
        Properties record = read(file(stateDirectory, replicaKey));
        String recorded = record.getProperty("bitmap", "");
        if (recorded.startsWith(prefix)) {
            highest = Math.max(highest, generation(prefix, recorded));
        }
        List<String> names = bitmaps.stream().map(b -> b.path("name").asText()).toList();
        String reason = null;
        if (recorded.isEmpty()) {
            reason = "no replicated view of this drive recorded for this destination yet";
        } else if (!socket.toString().equals(record.getProperty("socket")) || !drive.name().equals(record.getProperty("node"))
                || !drive.image().toString().equals(record.getProperty("image"))) {
            reason = "the last replicated view was of another drive (" + record.getProperty("socket") + " "
                    + record.getProperty("node") + " " + record.getProperty("image") + ")";
        } else {
            JsonNode bitmap = bitmaps.stream().filter(b -> recorded.equals(b.path("name").asText())).findFirst().orElse(null);
            if (bitmap == null) {
                reason = "dirty bitmap " + recorded + " is gone (the VM was restarted, or the bitmap was removed)";
            } else if (bitmap.path("inconsistent").asBoolean(false)) {
                reason = "dirty bitmap " + recorded + " is marked inconsistent by QEMU";
            } else if (!bitmap.path("recording").asBoolean(true)) {
                reason = "dirty bitmap " + recorded + " is not recording (a cycle was interrupted)";
            }
        }
        return new BitmapState(replicaKey, prefix, highest + 1, reason == null ? recorded : null, reason, names,
                record.getProperty("replicaDigest", ""));
    }

    /** The destination whose view of the drive this tracks. */
    String replicaKey() {
        return replicaKey;
    }

    /** The image digest of the replica when this drive's view was last replicated. */
    String replicaDigest() {
        return replicaDigest;
    }

    boolean trusted() {
        return current != null;
    }

    String currentName() {
        return current;
    }

    String nextName() {
        return prefix + nextGeneration;
    }

    String reason() {
        return reason == null ? "" : reason;
    }

    /** Removes this destination's bitmaps that can no longer be trusted, keeping the new one. */
    void dropUntrusted(QmpClient qmp, String drive, String keep) throws QmpException {
        for (String name : ours) {
            if (!name.equals(keep) && !name.equals(current)) {
                qmp.execute("block-dirty-bitmap-remove", QmpClient.args().put("node", drive).put("name", name));
            }
        }
    }

    /** Records, after the replica committed, that it holds the view whose changes {@code bitmap} starts after. */
    static void store(Path stateDirectory, String replicaKey, Path socket, String node, Path image, String bitmap,
            String replicaDigest)
            throws IOException {
        Properties record = new Properties();
        record.setProperty("version", "1");
        record.setProperty("socket", socket.toString());
        record.setProperty("node", node);
        record.setProperty("image", image.toString());
        record.setProperty("bitmap", bitmap);
        record.setProperty("replicaDigest", replicaDigest);
        StringWriter text = new StringWriter();
        record.store(text, "standin qemu change tracking: the replica holds the view this bitmap starts after");
        Path file = file(stateDirectory, replicaKey);
        Files.createDirectories(file.getParent());
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(StandardCharsets.UTF_8.encode(text.toString()));
            channel.force(true);
        }
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static Path file(Path stateDirectory, String replicaKey) {
        return stateDirectory.resolve("qemu").resolve("tracking-" + replicaKey + ".properties");
    }

    private static Properties read(Path file) throws IOException {
        Properties properties = new Properties();
        if (Files.exists(file)) {
            properties.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
            if (!"1".equals(properties.getProperty("version"))) {
                return new Properties(); // another version's record: do not trust it
            }
        }
        return properties;
    }

    private static long generation(String prefix, String name) {
        try {
            return Long.parseLong(name.substring(prefix.length()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
