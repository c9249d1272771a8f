package dev.standin.nativeio;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A frozen filesystem (FIFREEZE). Writers to it block in the kernel until {@link #close()} thaws
 * it, so always hold one in try-with-resources: a freeze that leaks hangs every writer on that
 * filesystem, possibly including the JVM's own logging.
 */
public final class Freeze implements AutoCloseable {

    private final Binding binding;
    private final Path mountPoint;
    private final int fd;
    private final AtomicBoolean thawed = new AtomicBoolean();

    Freeze(Binding binding, Path mountPoint, int fd) {
        this.binding = binding;
        this.mountPoint = mountPoint;
        this.fd = fd;
    }

    public Path mountPoint() {
        return mountPoint;
    }

    /**
     * Thaws (FITHAW) and releases the descriptor. Only the first call does anything. If something
     * else thawed the filesystem in the meantime, FITHAW's EINVAL is reported after the
     * descriptor is closed.
     */
    @Override
    public void close() throws IOException {
        if (!thawed.compareAndSet(false, true)) {
            return;
        }
        NativeException failure = null;
        if (binding.libc.ioctl(fd, Linux.FITHAW, 0L) != 0) {
            failure = binding.failure("FITHAW", mountPoint);
        }
        if (binding.libc.close(fd) != 0 && failure == null) {
            failure = binding.failure("close", mountPoint);
        }
        if (failure != null) {
            throw failure;
        }
    }
}
