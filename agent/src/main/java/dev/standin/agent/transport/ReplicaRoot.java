package dev.standin.agent.transport;

import dev.standin.agent.replica.SideFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The directory {@code standin serve --root DIR} confines a peer to. A path from the wire is
 * relative, has no {@code ..} and no empty or NUL component, and must resolve, symbolic links
 * followed, to a place inside the root. The one exception is a link to a block device, because
 * LVM names volumes with links ({@code /dev/VG/LV -> ../dm-3}); the peer cannot create links, so
 * such a link was put in the root by its administrator.
 */
public final class ReplicaRoot {

    private final Path root;

    public ReplicaRoot(Path root) throws IOException {
        try {
            this.root = root.toRealPath();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException(root + ": no such directory", e);
        }
        if (!Files.isDirectory(this.root)) {
            throw new IOException(root + " is not a directory");
        }
    }

    /**
     * The root a peer asked for ({@code --root} in the command it sent) when an authorized_keys
     * forced command set this one: the request is honoured only inside this root, so a key
     * restricted to {@code /srv/replicas} can use {@code /srv/replicas/vm7} but nothing else.
     */
    public ReplicaRoot narrowedTo(String requested) throws IOException {
        Path asked = Path.of(requested);
        Path candidate = asked.isAbsolute() ? asked : root.resolve(asked);
        Path real;
        try {
            real = candidate.toRealPath();
        } catch (IOException e) {
            throw new java.nio.file.NoSuchFileException(requested, null, "no such directory inside " + root);
        }
        if (!real.startsWith(root)) {
            throw new ProtocolException("requested root " + requested + " is outside the root " + root
                    + " this key is restricted to");
        }
        return new ReplicaRoot(real);
    }

    public Path path() {
        return root;
    }

    /** Names in a file system hold at most this many bytes (NAME_MAX). */
    static final int NAME_MAX = 255;
    /** The longest thing standin puts around a replica's name for its side files ("." + NAME + suffix). */
    private static final int SIDE_FILE_EXTRA = 1 + SideFiles.SUFFIXES.stream().mapToInt(String::length).max().orElseThrow();

    /**
     * The replica at {@code wirePath}, or a {@link ProtocolException} naming why it is refused.
     * The grammar (docs/protocol.md, "Replica names"): components separated by '/', none empty,
     * '.' or '..', none over 255 bytes, none starting with '-', no control or format characters
     * (newline, RTL override), none of standin's own names ({@code .NAME.standin-*}), and a last
     * component short enough for the side files kept beside it.
     */
    public Path resolve(String wirePath) throws IOException {
        if (wirePath.isEmpty() || wirePath.indexOf('\0') >= 0) {
            throw refused(wirePath, "empty or contains NUL");
        }
        if (wirePath.startsWith("/")) {
            throw refused(wirePath, "absolute paths are not accepted from the wire");
        }
        String[] parts = wirePath.split("/", -1);
        for (String part : parts) {
            if (part.isEmpty() || part.equals("..") || part.equals(".")) {
                throw refused(wirePath, "'" + part + "' components are not accepted");
            }
            if (part.getBytes(StandardCharsets.UTF_8).length > NAME_MAX) {
                throw refused(wirePath, "a name of " + part.getBytes(StandardCharsets.UTF_8).length
                        + " bytes; names hold at most " + NAME_MAX);
            }
            if (part.startsWith("-")) {
                throw refused(wirePath, "names starting with '-' are not accepted (commands would read them as options)");
            }
            if (part.codePoints().anyMatch(ReplicaRoot::isControl)) {
                throw refused(wirePath, "names with control or format characters (newline, bidirectional overrides) "
                        + "are not accepted");
            }
            if (part.startsWith(".") && part.contains(".standin-")) {
                throw refused(wirePath, "'.NAME.standin-*' names are standin's own files beside a replica");
            }
        }
        int lastBytes = parts[parts.length - 1].getBytes(StandardCharsets.UTF_8).length;
        if (lastBytes + SIDE_FILE_EXTRA > NAME_MAX) {
            throw refused(wirePath, "a replica name of " + lastBytes + " bytes; the files standin keeps beside it "
                    + "need it to be at most " + (NAME_MAX - SIDE_FILE_EXTRA));
        }
        Path candidate = root.resolve(wirePath).normalize();
        if (!candidate.startsWith(root) || candidate.equals(root)) {
            throw refused(wirePath, "outside the root");
        }
        Path parent = candidate.getParent();
        if (!Files.isDirectory(parent)) {
            throw new java.nio.file.NoSuchFileException(parent.toString(), null, "directory does not exist");
        }
        if (!parent.toRealPath().startsWith(root)) {
            throw refused(wirePath, "its directory leads outside the root through a symbolic link");
        }
        if (Files.isSymbolicLink(candidate)) {
            Path real;
            try {
                real = candidate.toRealPath();
            } catch (IOException e) {
                throw refused(wirePath, "a dangling symbolic link");
            }
            boolean device = !Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(real)
                    && isBlockDevice(real);
            if (!real.startsWith(root) && !device) {
                throw refused(wirePath, "a symbolic link to " + real + ", outside the root");
            }
        }
        return candidate;
    }

    private static boolean isBlockDevice(Path path) {
        try {
            return Files.readAttributes(path, "unix:mode").get("mode") instanceof Integer mode
                    && (mode & 0170000) == 0060000;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static boolean isControl(int codePoint) {
        int type = Character.getType(codePoint);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.UNASSIGNED
                || type == Character.SURROGATE || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR;
    }

    private ProtocolException refused(String wirePath, String why) {
        return new ProtocolException("path '" + WireText.quote(wirePath) + "' refused: " + why + " (root " + root + ")");
    }
}
