package dev.standin.agent.replica;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The files standin keeps beside a replica ({@code .NAME.standin-*}) and in its state directory.
 * None is ever written, replaced or entered through a symbolic link: a replica host's root is
 * where a planted link would turn a signature cache or an index into a write outside the root,
 * so every such file is opened with {@code O_NOFOLLOW}, temporaries with {@code O_EXCL}, and a
 * link where one of them belongs is refused with {@link LinkRefusedException}.
 */
public final class SideFiles {

    /** Every side file's name is {@code "." + NAME + SUFFIX} with one of these. */
    public static final List<String> SUFFIXES = List.of(".standin-lock", ".standin-sigs", ".standin-sigs.tmp",
            ".standin-resume", ".standin-journal", ".standin-partial", ".standin-points", ".standin-restore",
            ".standin-in-use");

    private SideFiles() {}

    /** A symbolic link where a side file belongs. */
    public static final class LinkRefusedException extends IOException {
        private static final long serialVersionUID = 1L;

        LinkRefusedException(Path path) {
            super(path + " is a symbolic link" + target(path) + " where standin keeps its own file; standin does not "
                    + "write through links: remove it");
        }

        private static String target(Path path) {
            try {
                return " (to " + Files.readSymbolicLink(path) + ")";
            } catch (IOException | UnsupportedOperationException e) {
                return "";
            }
        }
    }

    /** Refuses {@code path} if it is a symbolic link; nothing else about it is checked. */
    public static void refuseLink(Path path) throws LinkRefusedException {
        if (Files.isSymbolicLink(path)) {
            throw new LinkRefusedException(path);
        }
    }

    /**
     * Every side file of the file replica {@code destination} that exists as a link, refused
     * before a cycle starts: the one place that lists them, so a new side file is not forgotten.
     */
    public static void refuseLinksBeside(Path destination) throws LinkRefusedException {
        String name = destination.getFileName().toString();
        List<Path> paths = new ArrayList<>();
        for (String suffix : SUFFIXES) {
            paths.add(destination.resolveSibling("." + name + suffix));
        }
        Path points = destination.resolveSibling("." + name + ".standin-points");
        paths.add(points.resolve("index"));
        paths.add(points.resolve("index.tmp"));
        for (Path p : paths) {
            refuseLink(p);
        }
    }

    /**
     * Opens {@code path} empty for writing, creating it; never through a link. Without
     * {@code temporary}, an existing regular file is emptied (a journal, a log restarted); with it,
     * the file is made anew (a leftover of a crash is removed first, a link refused).
     */
    public static FileChannel create(Path path, boolean temporary) throws IOException {
        refuseLink(path);
        if (temporary) {
            Files.deleteIfExists(path);
        }
        try {
            return FileChannel.open(path, temporary ? StandardOpenOption.CREATE_NEW : StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        } catch (FileSystemException e) {
            refuseLink(path); // a link planted between the check and the open: ELOOP
            throw e;
        }
    }

    /**
     * Makes standin's own directory {@code directory} exist (its parents as they are, links an
     * administrator made included); a link where it belongs is refused, not followed.
     */
    static void createDirectory(Path directory) throws IOException {
        Path absolute = directory.toAbsolutePath();
        refuseLink(absolute);
        Files.createDirectories(absolute);
        refuseLink(absolute); // createDirectories accepts a link to a directory
    }
}
