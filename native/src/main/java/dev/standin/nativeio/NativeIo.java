package dev.standin.nativeio;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * Entry point to the Linux calls the data path needs. Obtain it once with {@link #load()} or
 * {@link #tryLoad()} and pass it around; it is immutable and thread-safe. Failures come back as
 * {@link NativeException} (with the errno) or, for "this kernel/filesystem cannot do that",
 * {@link UnsupportedOperationIOException} so callers can fall back to plain Java.
 *
 * <p>Only Linux on x86_64 is supported: the ioctl numbers, struct layouts and syscall numbers in
 * {@link Linux} are that ABI's.
 */
public final class NativeIo {

    /** Binding libc generates classes, so it is done once per JVM; this is the only static state. */
    private static final class Loaded {
        static final NativeIo INSTANCE;
        static final NativeUnavailableException FAILURE;

        static {
            NativeIo instance = null;
            NativeUnavailableException failure = null;
            try {
                instance = bind();
            } catch (NativeUnavailableException e) {
                failure = e;
            }
            INSTANCE = instance;
            FAILURE = failure;
        }
    }

    private final Binding binding;

    private NativeIo(Binding binding) {
        this.binding = binding;
    }

    /**
     * Binds libc, or throws {@link NativeUnavailableException} explaining why it cannot
     * (unsupported OS/architecture, jffi native stub missing, symbol not found).
     */
    public static NativeIo load() {
        if (Loaded.FAILURE != null) {
            throw Loaded.FAILURE;
        }
        return Loaded.INSTANCE;
    }

    /** Like {@link #load()}, but empty instead of throwing, for callers with a plain-Java fallback. */
    public static Optional<NativeIo> tryLoad() {
        return Optional.ofNullable(Loaded.INSTANCE);
    }

    private static NativeIo bind() {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new NativeUnavailableException(
                    "standin native I/O supports Linux x86_64 only (this JVM reports " + os + "/" + arch + ")", null);
        }
        try {
            // failImmediately: resolve every symbol now, so an old glibc fails here, not mid-copy.
            Glibc.LibC libc = LibraryLoader.create(Glibc.LibC.class).failImmediately().load("c");
            return new NativeIo(new Binding(libc, Runtime.getRuntime(libc)));
        } catch (LinkageError | RuntimeException e) {
            throw new NativeUnavailableException("cannot bind libc through JNR-FFI (need glibc >= 2.33 and jffi's"
                    + " native stub for linux-x86_64): " + e, e);
        }
    }

    /**
     * Opens an existing file or block device, read-only or read-write, with O_CLOEXEC so the
     * descriptor does not leak into ssh/mkfs children. Never creates anything.
     */
    public NativeFile open(Path path, boolean writable) throws IOException {
        Objects.requireNonNull(path, "path");
        int flags = (writable ? Linux.O_RDWR : Linux.O_RDONLY) | Linux.O_CLOEXEC;
        int fd = binding.libc.open(path.toString(), flags);
        if (fd < 0) {
            throw binding.failure(writable ? "open(O_RDWR)" : "open(O_RDONLY)", path);
        }
        try {
            StatStruct stat = NativeFile.fstat(binding, fd, path);
            boolean blockDevice = (stat.stMode.intValue() & Linux.S_IFMT) == Linux.S_IFBLK;
            return new NativeFile(binding, path, fd, blockDevice);
        } catch (IOException | RuntimeException e) {
            binding.libc.close(fd);
            throw e;
        }
    }

    /**
     * Puts the calling thread (not the whole process: Linux ioprio is per task) in the idle I/O
     * class, so replication reads only get disk time nobody else wants. Inherited by threads the
     * caller creates afterwards.
     */
    public void ioprioIdleForCurrentThread() throws IOException {
        long tid = binding.libc.syscall(Linux.SYS_GETTID, 0, 0, 0);
        long rc = binding.libc.syscall(Linux.SYS_IOPRIO_SET, Linux.IOPRIO_WHO_PROCESS, tid,
                Linux.ioprioValue(Linux.IOPRIO_CLASS_IDLE, 0));
        if (rc != 0) {
            int errno = binding.errno();
            if (errno == Errno.ENOSYS) {
                throw binding.unsupported("I/O priorities are not supported by this kernel", "ioprio_set", "thread " + tid, errno);
            }
            throw binding.failure("ioprio_set(IDLE)", "thread " + tid, errno);
        }
    }

    /**
     * Which pages of a file mapping are in the page cache now (mincore(2)): bit i is page i of
     * {@code mapping}, a direct buffer from {@code FileChannel.map} that starts on a page. Asking
     * reads nothing and faults nothing in (~20 µs for 64 MiB here).
     */
    public java.util.BitSet residentPages(java.nio.ByteBuffer mapping) throws IOException {
        Objects.requireNonNull(mapping, "mapping");
        if (!mapping.isDirect()) {
            throw new IllegalArgumentException("residentPages needs a mapping, not a heap buffer");
        }
        jnr.ffi.Pointer address = jnr.ffi.Pointer.wrap(binding.runtime, mapping);
        long length = mapping.capacity();
        if (address.address() % binding.pageSize != 0 || length == 0) {
            throw new IllegalArgumentException("a mapping of " + length + " bytes at " + address.address()
                    + " does not start on a page");
        }
        byte[] vec = new byte[Math.toIntExact((length + binding.pageSize - 1) / binding.pageSize)];
        if (binding.libc.mincore(address, length, vec) != 0) {
            throw binding.failure("mincore", length + " bytes");
        }
        java.util.BitSet resident = new java.util.BitSet(vec.length);
        for (int i = 0; i < vec.length; i++) {
            if ((vec[i] & 1) != 0) {
                resident.set(i);
            }
        }
        return resident;
    }

    /** The size of a page (sysconf(_SC_PAGESIZE)), the unit of {@link #residentPages}. */
    public long pageSize() {
        return binding.pageSize;
    }

    /** Capacity of the filesystem holding {@code path}, via statvfs(3). */
    public FsStats statvfs(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        StatvfsStruct buf = new StatvfsStruct(binding.runtime);
        if (binding.libc.statvfs(path.toString(), buf.pointer()) != 0) {
            throw binding.failure("statvfs", path);
        }
        long unit = buf.fFrsize.longValue();
        return new FsStats(unit, buf.fBlocks.longValue() * unit, buf.fBfree.longValue() * unit,
                buf.fBavail.longValue() * unit);
    }

    /**
     * Freezes the filesystem mounted at {@code mountPoint} (FIFREEZE; needs CAP_SYS_ADMIN) so its
     * on-disk state is consistent for a snapshot. Close the returned {@link Freeze} to thaw.
     * A filesystem that is already frozen fails with EBUSY; one that cannot freeze (tmpfs, some
     * FUSE) with {@link UnsupportedOperationIOException}.
     */
    public Freeze freeze(Path mountPoint) throws IOException {
        Objects.requireNonNull(mountPoint, "mountPoint");
        int fd = binding.libc.open(mountPoint.toString(), Linux.O_RDONLY | Linux.O_CLOEXEC);
        if (fd < 0) {
            throw binding.failure("open(O_RDONLY)", mountPoint);
        }
        if (binding.libc.ioctl(fd, Linux.FIFREEZE, 0L) != 0) {
            int errno = binding.errno();
            binding.libc.close(fd);
            if (errno == Errno.EOPNOTSUPP || errno == Errno.ENOTTY) {
                throw binding.unsupported("this filesystem cannot be frozen", "FIFREEZE", mountPoint, errno);
            }
            throw binding.failure("FIFREEZE", mountPoint, errno);
        }
        return new Freeze(binding, mountPoint, fd);
    }
}
