package dev.standin.agent.replica;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A replica that a failed-over VM runs on: {@code .NAME.standin-in-use} beside it says by whom.
 * While it is there no cycle writes the replica (the VM's overlay reads it as its backing file),
 * and the agent's start-up replay leaves it alone too; {@code standin failover --cleanup} removes it.
 */
public final class InUse {

    private InUse() {}

    public static Path markOf(Path replica) {
        return replica.resolveSibling("." + replica.getFileName() + ".standin-in-use");
    }

    /** Marks {@code replica} as read by {@code by} (one line: which VM, since when). */
    public static void mark(Path replica, String by) throws IOException {
        Path mark = markOf(replica);
        SideFiles.refuseLink(mark);
        Path temporary = mark.resolveSibling(mark.getFileName() + ".tmp");
        try (FileChannel out = SideFiles.create(temporary, true)) {
            ByteBuffer text = StandardCharsets.UTF_8.encode(by + "\n");
            while (text.hasRemaining()) {
                out.write(text);
            }
        }
        Files.move(temporary, mark, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    public static void clear(Path replica) throws IOException {
        Files.deleteIfExists(markOf(replica));
    }

    /** Who holds {@code replica}, if anyone. */
    public static Optional<String> holder(Path replica) throws IOException {
        Path mark = markOf(replica);
        if (!Files.exists(mark, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        SideFiles.refuseLink(mark);
        String text = Files.readString(mark, StandardCharsets.UTF_8).strip();
        return Optional.of(text.isEmpty() ? "a failover" : text);
    }
}
