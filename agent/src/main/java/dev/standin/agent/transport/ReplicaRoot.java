package dev.standin.agent.transport;

import java.io.IOException;
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

    /** The replica at {@code wirePath}, or a {@link ProtocolException} naming why it is refused. */
    public Path resolve(String wirePath) throws IOException {
        if (wirePath.isEmpty() || wirePath.indexOf('\0') >= 0) {
            throw refused(wirePath, "empty or contains NUL");
        }
        if (wirePath.startsWith("/")) {
            throw refused(wirePath, "absolute paths are not accepted from the wire");
        }
        for (String part : wirePath.split("/", -1)) {
            if (part.isEmpty() || part.equals("..") || part.equals(".")) {
                throw refused(wirePath, "'" + part + "' components are not accepted");
            }
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

    private ProtocolException refused(String wirePath, String why) {
        return new ProtocolException("path '" + wirePath + "' refused: " + why + " (root " + root + ")");
    }
}
