package dev.standin.snapshot;

import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The records of snapshots this host has made and not yet released, one small file each under
 * {@code STATE_DIR/snapshots/}. A record is written and fsynced <em>before</em> the snapshot is made
 * and removed after it is released, so a crash at any point leaves either nothing or a record of
 * something that may exist; the next start releases it ({@link #stale()}).
 *
 * <p>One file per snapshot, not one shared list: cycles for different destinations run in separate
 * processes at once and must not rewrite each other's records. Each record names its owner
 * (pid and process start time, since pids are reused); a record is stale only when its owner is gone.
 *
 * <p>Format (text, version 1): {@code standin-snapshot 1}, then {@code key=value} lines with
 * URL-encoded values, then {@code crc32c=HEX} over everything before it. A record that fails its
 * check is reported, never acted on: releasing the wrong LV would be worse than leaving one.
 */
public final class StaleSnapshots {

    static final String MAGIC = "standin-snapshot 1";
    private static final String SUFFIX = ".snapshot";
    /** Every name a hook gives to what it makes starts with this, so an operator can find leftovers by eye. */
    public static final String PREFIX = "standin-";

    private final Path directory;

    /** A recorded snapshot: what hook made it, for which process, and the hook's own fields. */
    public record Entry(String id, String kind, long ownerPid, long ownerStartMillis, Map<String, String> fields) {

        public Entry {
            fields = Map.copyOf(fields);
        }

        public String field(String key) throws SnapshotException {
            String value = fields.get(key);
            if (value == null) {
                throw new SnapshotException("stale " + kind + " snapshot record " + id + " has no " + key, true);
            }
            return value;
        }

        public Optional<String> optionalField(String key) {
            return Optional.ofNullable(fields.get(key));
        }
    }

    /** A record that could not be read; left in place for a human. */
    public record Unreadable(Path file, String reason) {}

    public StaleSnapshots(Path stateDirectory) {
        this.directory = stateDirectory.resolve("snapshots");
    }

    public Path directory() {
        return directory;
    }

    /** A fresh snapshot id, {@code standin-YYYYMMDDhhmmss-XXXXXX}: sortable, unique, and prefixed. */
    public static String newId() {
        byte[] random = new byte[3];
        new SecureRandom().nextBytes(random);
        return PREFIX + DateTimeFormatter.ofPattern("yyyyMMddHHmmss").withZone(ZoneOffset.UTC).format(Instant.now())
                + "-" + HexFormat.of().formatHex(random);
    }

    /** Writes the record durably before the snapshot it describes is made. */
    public Entry record(String id, String kind, Map<String, String> fields) throws IOException {
        ProcessHandle self = ProcessHandle.current();
        Entry entry = new Entry(id, kind, self.pid(), startMillis(self).orElse(0L), fields);
        write(entry);
        return entry;
    }

    /** Replaces a record with one that has more fields (what was made so far). */
    public Entry update(Entry entry, Map<String, String> more) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>(entry.fields());
        fields.putAll(more);
        Entry updated = new Entry(entry.id(), entry.kind(), entry.ownerPid(), entry.ownerStartMillis(), fields);
        write(updated);
        return updated;
    }

    /** Forgets a record once what it describes is released. */
    public void remove(Entry entry) throws IOException {
        Files.deleteIfExists(fileOf(entry.id()));
        syncDirectory();
    }

    /** Records whose owning process is gone: a crash left what they describe. */
    public List<Entry> stale() throws IOException {
        List<Entry> stale = new ArrayList<>();
        for (Object o : readAll()) {
            if (o instanceof Entry e && !ownerAlive(e)) {
                stale.add(e);
            }
        }
        return stale;
    }

    /** Records that fail their version or checksum check. */
    public List<Unreadable> unreadable() throws IOException {
        List<Unreadable> bad = new ArrayList<>();
        for (Object o : readAll()) {
            if (o instanceof Unreadable u) {
                bad.add(u);
            }
        }
        return bad;
    }

    /** Every readable record, live or stale. */
    public List<Entry> all() throws IOException {
        List<Entry> entries = new ArrayList<>();
        for (Object o : readAll()) {
            if (o instanceof Entry e) {
                entries.add(e);
            }
        }
        return entries;
    }

    private List<Object> readAll() throws IOException {
        List<Object> result = new ArrayList<>();
        if (!Files.isDirectory(directory)) {
            return result;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path file : files) {
                try {
                    result.add(parse(Files.readString(file, StandardCharsets.UTF_8)));
                } catch (NoSuchFileException e) {
                    // released by its owner while we listed
                } catch (IllegalArgumentException e) {
                    result.add(new Unreadable(file, e.getMessage()));
                }
            }
        }
        return result;
    }

    static String format(Entry entry) {
        StringBuilder text = new StringBuilder(MAGIC).append('\n');
        text.append("id=").append(encode(entry.id())).append('\n');
        text.append("kind=").append(encode(entry.kind())).append('\n');
        text.append("owner=").append(entry.ownerPid()).append('@').append(entry.ownerStartMillis()).append('\n');
        entry.fields().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(f -> text.append("f.").append(encode(f.getKey())).append('=').append(encode(f.getValue())).append('\n'));
        String body = text.toString();
        return body + "crc32c=" + crc(body) + "\n";
    }

    static Entry parse(String text) {
        int crcAt = text.lastIndexOf("crc32c=");
        if (!text.startsWith(MAGIC + "\n") || crcAt < 0) {
            throw new IllegalArgumentException("not a version-1 standin snapshot record");
        }
        String body = text.substring(0, crcAt);
        String stored = text.substring(crcAt + "crc32c=".length()).strip();
        if (!stored.equals(crc(body))) {
            throw new IllegalArgumentException("checksum mismatch (stored " + stored + ", computed " + crc(body) + ")");
        }
        String id = null;
        String kind = null;
        long pid = -1;
        long start = 0;
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : body.substring(MAGIC.length() + 1).split("\n")) {
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("malformed line '" + line + "'");
            }
            String key = line.substring(0, eq);
            String value = line.substring(eq + 1);
            switch (key) {
                case "id" -> id = decode(value);
                case "kind" -> kind = decode(value);
                case "owner" -> {
                    String[] parts = value.split("@");
                    pid = Long.parseLong(parts[0]);
                    start = Long.parseLong(parts[1]);
                }
                default -> {
                    if (!key.startsWith("f.")) {
                        throw new IllegalArgumentException("unknown key '" + key + "'");
                    }
                    fields.put(decode(key.substring(2)), decode(value));
                }
            }
        }
        if (id == null || kind == null || pid < 0 || !id.startsWith(PREFIX)) {
            throw new IllegalArgumentException("record lacks an id, kind or owner");
        }
        return new Entry(id, kind, pid, start, fields);
    }

    private void write(Entry entry) throws IOException {
        Files.createDirectories(directory);
        Path file = fileOf(entry.id());
        Path temporary = directory.resolve("." + entry.id() + SUFFIX + ".tmp");
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(StandardCharsets.UTF_8.encode(format(entry)));
            channel.force(true);
        }
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory();
    }

    private Path fileOf(String id) {
        if (!id.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("snapshot id '" + id + "' is not a plain name");
        }
        return directory.resolve(id + SUFFIX);
    }

    private void syncDirectory() throws IOException {
        if (Files.isDirectory(directory)) {
            try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
                dir.force(true);
            }
        }
    }

    private static boolean ownerAlive(Entry entry) {
        Optional<ProcessHandle> owner = ProcessHandle.of(entry.ownerPid());
        if (owner.isEmpty() || !owner.get().isAlive()) {
            return false;
        }
        // A reused pid belongs to a process that started later than the recorded one.
        return startMillis(owner.get()).map(s -> Math.abs(s - entry.ownerStartMillis()) < 2000).orElse(true);
    }

    private static Optional<Long> startMillis(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toEpochMilli);
    }

    private static String crc(String text) {
        CRC32C crc = new CRC32C();
        crc.update(text.getBytes(StandardCharsets.UTF_8));
        return String.format("%08x", crc.getValue());
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static String decode(String value) {
        return URLDecoder.decode(value, StandardCharsets.UTF_8);
    }
}
