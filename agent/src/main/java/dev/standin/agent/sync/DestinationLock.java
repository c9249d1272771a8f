package dev.standin.agent.sync;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * One cycle at a time per destination: a second run would otherwise recover (delete) the first
 * run's journal while it is being written. An fcntl lock on {@code .NAME.standin-lock} beside a
 * file replica; the kernel drops it when the process dies, so a crash never leaves it stuck.
 */
public final class DestinationLock implements AutoCloseable {

    private final FileChannel channel;
    private final FileLock lock;

    private DestinationLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * How long a cycle waits for the lock before it refuses. A cycle that has just committed is
     * still closing for a moment (a receiver stores the replica's signatures after it has answered
     * its sender), and the next cycle, on a warm channel, can be there within milliseconds; a cycle
     * that is really running holds the lock for far longer than this.
     */
    public static final Duration PATIENCE = Duration.ofSeconds(5);

    public static DestinationLock acquire(Path destination) throws StandinException, IOException {
        return acquire(destination, PATIENCE);
    }

    /** As above, waiting up to {@code patience} for a lock held by another process. */
    public static DestinationLock acquire(Path destination, Duration patience) throws StandinException, IOException {
        Path parent = destination.toAbsolutePath().getParent();
        // A device node gets no lock file beside it (/dev is not ours): the node itself is locked.
        boolean device = java.nio.file.Files.exists(destination) && !java.nio.file.Files.isRegularFile(destination);
        Path path = device ? destination : parent.resolve("." + destination.getFileName() + ".standin-lock");
        FileChannel channel;
        try {
            channel = device
                    ? FileChannel.open(path, StandardOpenOption.WRITE)
                    : FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new StandinException(ExitStatus.DESTINATION, "destination directory " + parent + " does not exist", e);
        }
        try {
            long deadline = System.nanoTime() + patience.toNanos();
            FileLock lock;
            while ((lock = channel.tryLock()) == null && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    channel.close();
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while waiting for the lock of " + destination);
                }
            }
            if (lock == null) {
                channel.close();
                throw new StandinException(ExitStatus.DESTINATION,
                        "another standin is already syncing " + destination + "; try again when it has finished");
            }
            return new DestinationLock(channel, lock);
        } catch (OverlappingFileLockException e) {
            channel.close();
            throw new StandinException(ExitStatus.DESTINATION,
                    "another sync in this process is already writing " + destination, e);
        }
    }

    @Override
    public void close() throws IOException {
        try (FileChannel c = channel) {
            lock.release();
        }
    }
}
