package dev.standin.nativeio;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * An open file descriptor on a regular file or block device, from {@link NativeIo#open}.
 *
 * <p>Calls may come from several threads, but {@link #close()} must not race with them: once the
 * descriptor number is closed the kernel may hand it to an unrelated open.
 */
public final class NativeFile implements AutoCloseable {

    private static final int SECTOR = 512; // st_blocks unit, fixed by POSIX/Linux regardless of fs block size

    private final Binding binding;
    private final Path path;
    private final int fd;
    private final boolean blockDevice;
    private final AtomicBoolean closed = new AtomicBoolean();

    NativeFile(Binding binding, Path path, int fd, boolean blockDevice) {
        this.binding = binding;
        this.path = path;
        this.fd = fd;
        this.blockDevice = blockDevice;
    }

    /** The raw descriptor, for log lines only; do not close or dup it behind this object's back. */
    public int fd() {
        return fd;
    }

    public Path path() {
        return path;
    }

    /** True when the descriptor is a block device (fstat S_ISBLK), fixed at open time. */
    public boolean isBlockDevice() {
        return blockDevice;
    }

    /** Length in bytes: st_size for files, BLKGETSIZE64 for block devices (whose st_size is 0). */
    public long size() throws IOException {
        ensureOpen();
        if (!blockDevice) {
            return fstat(binding, fd, path).stSize.longValue();
        }
        Pointer out = Memory.allocateDirect(binding.runtime, 8, true);
        ioctlOrThrow(Linux.BLKGETSIZE64, out, "BLKGETSIZE64");
        return out.getLong(0);
    }

    /** Smallest addressable unit of the device (BLKSSZGET), typically 512 or 4096. Block devices only. */
    public int logicalSectorSize() throws IOException {
        requireBlockDevice("BLKSSZGET");
        Pointer out = Memory.allocateDirect(binding.runtime, 4, true);
        ioctlOrThrow(Linux.BLKSSZGET, out, "BLKSSZGET");
        return out.getInt(0);
    }

    /** Physical sector size (BLKPBSZGET); writes aligned to it avoid read-modify-write. Block devices only. */
    public int physicalSectorSize() throws IOException {
        requireBlockDevice("BLKPBSZGET");
        Pointer out = Memory.allocateDirect(binding.runtime, 4, true);
        ioctlOrThrow(Linux.BLKPBSZGET, out, "BLKPBSZGET");
        return out.getInt(0);
    }

    /** Bytes actually allocated on disk (st_blocks * 512); smaller than size() for sparse files. */
    public long allocatedBytes() throws IOException {
        ensureOpen();
        return fstat(binding, fd, path).stBlocks.longValue() * SECTOR;
    }

    /** First data byte at or after {@code offset} (lseek SEEK_DATA), or -1 when only holes/EOF follow. */
    public long seekData(long offset) throws IOException {
        return seek(offset, Linux.SEEK_DATA, "lseek(SEEK_DATA)");
    }

    /** First hole at or after {@code offset} (lseek SEEK_HOLE); EOF counts as a hole. ENXIO past EOF. */
    public long seekHole(long offset) throws IOException {
        long result = seek(offset, Linux.SEEK_HOLE, "lseek(SEEK_HOLE)");
        if (result < 0) {
            throw binding.failure("lseek(SEEK_HOLE) offset " + offset, path, Errno.ENXIO);
        }
        return result;
    }

    private long seek(long offset, int whence, String operation) throws IOException {
        ensureOpen();
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        long result = binding.libc.lseek(fd, offset, whence);
        if (result >= 0) {
            return result;
        }
        int errno = binding.errno();
        if (errno == Errno.ENXIO) {
            return -1;
        }
        if (errno == Errno.EINVAL || errno == Errno.EOPNOTSUPP) {
            // offset was checked above, so EINVAL here means the whence value is not understood
            throw binding.unsupported("SEEK_DATA/SEEK_HOLE are not supported here", operation, path, errno);
        }
        throw binding.failure(operation, path, errno);
    }

    /**
     * The data-bearing ranges within {@code [from, to)}, clipped to the end of the file, in order.
     * Walks SEEK_DATA/SEEK_HOLE; for block devices, or filesystems that cannot report holes, the
     * whole window (clipped to the size) is returned as one extent so callers read everything.
     */
    public List<Extent> dataExtents(long from, long to) throws IOException {
        ensureOpen();
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("bad range [" + from + ", " + to + ")");
        }
        long end = Math.min(to, size());
        List<Extent> extents = new ArrayList<>();
        if (from >= end) {
            return extents;
        }
        if (blockDevice) {
            extents.add(new Extent(from, end - from));
            return extents;
        }
        long position = from;
        while (position < end) {
            long dataStart;
            long holeStart;
            try {
                dataStart = seekData(position);
                if (dataStart < 0 || dataStart >= end) {
                    break;
                }
                holeStart = seekHole(dataStart);
            } catch (UnsupportedOperationIOException e) {
                extents.clear();
                extents.add(new Extent(from, end - from));
                return extents;
            }
            long extentEnd = Math.min(holeStart, end);
            extents.add(new Extent(dataStart, extentEnd - dataStart));
            position = extentEnd;
        }
        return extents;
    }

    /**
     * Deallocates {@code [offset, offset + length)} keeping the file size; the range reads back as
     * zeros. {@link UnsupportedOperationIOException} when the filesystem cannot (write zeros instead).
     */
    public void punchHole(long offset, long length) throws IOException {
        ensureOpen();
        int mode = Linux.FALLOC_FL_PUNCH_HOLE | Linux.FALLOC_FL_KEEP_SIZE;
        if (binding.libc.fallocate(fd, mode, offset, length) != 0) {
            int errno = binding.errno();
            if (errno == Errno.EOPNOTSUPP) {
                throw binding.unsupported("hole punching is not supported on this filesystem",
                        "fallocate(PUNCH_HOLE)", path, errno);
            }
            throw binding.failure("fallocate(PUNCH_HOLE) [" + offset + "+" + length + "]", path, errno);
        }
    }

    /** Tells the device the range is unused (BLKDISCARD); contents afterwards are unspecified. */
    public void discard(long offset, long length) throws IOException {
        rangeIoctl(Linux.BLKDISCARD, "BLKDISCARD", "discard is not supported by this device", offset, length);
    }

    /** Makes the range read as zeros (BLKZEROOUT), offloaded to the device where it can. */
    public void zeroOut(long offset, long length) throws IOException {
        rangeIoctl(Linux.BLKZEROOUT, "BLKZEROOUT", "zeroing is not supported by this device", offset, length);
    }

    private void rangeIoctl(long request, String name, String unsupportedReason, long offset, long length)
            throws IOException {
        requireBlockDevice(name);
        Pointer range = Memory.allocateDirect(binding.runtime, 16, true);
        range.putLong(0, offset);
        range.putLong(8, length);
        if (binding.libc.ioctl(fd, request, range) != 0) {
            int errno = binding.errno();
            if (errno == Errno.EOPNOTSUPP || errno == Errno.ENOTTY) {
                throw binding.unsupported(unsupportedReason, name, path, errno);
            }
            throw binding.failure(name + " [" + offset + "+" + length + "]", path, errno);
        }
    }

    /**
     * posix_fadvise. DONTNEED after streaming a disk image keeps replication from evicting the
     * guest's working set from the page cache. Only clean pages are dropped, so fdatasync first.
     */
    public void fadvise(long offset, long length, Advice advice) throws IOException {
        Objects.requireNonNull(advice, "advice");
        ensureOpen();
        // posix_fadvise returns the error number instead of setting errno
        int errno = binding.libc.posix_fadvise(fd, offset, length, advice.value);
        if (errno != 0) {
            throw binding.failure("posix_fadvise(" + advice + ")", path, errno);
        }
    }

    /**
     * Starts writing back the dirty pages of {@code [offset, offset + length)} and returns
     * (sync_file_range with SYNC_FILE_RANGE_WRITE): nothing is made durable, but a later
     * fdatasync finds most of the data already on its way. Without it, data written during a
     * cycle waits in the cache until the commit's fdatasync asks for all of it at once.
     */
    public void startWriteback(long offset, long length) throws IOException {
        ensureOpen();
        if (binding.libc.sync_file_range(fd, offset, length, Linux.SYNC_FILE_RANGE_WRITE) != 0) {
            throw binding.failure("sync_file_range(WRITE) [" + offset + "+" + length + "]", path);
        }
    }

    public void fdatasync() throws IOException {
        ensureOpen();
        if (binding.libc.fdatasync(fd) != 0) {
            throw binding.failure("fdatasync", path);
        }
    }

    public void fsync() throws IOException {
        ensureOpen();
        if (binding.libc.fsync(fd) != 0) {
            throw binding.failure("fsync", path);
        }
    }

    /** Flushes the whole filesystem this file lives on, e.g. before a freeze or commit marker. */
    public void syncfs() throws IOException {
        ensureOpen();
        if (binding.libc.syncfs(fd) != 0) {
            throw binding.failure("syncfs", path);
        }
    }

    /**
     * Makes this file share all of {@code source}'s blocks (FICLONE, a reflink): an instant,
     * space-free copy on btrfs/xfs. This file must be writable; its old contents are replaced.
     */
    public void cloneFrom(NativeFile source) throws IOException {
        Objects.requireNonNull(source, "source");
        ensureOpen();
        source.ensureOpen();
        if (binding.libc.ioctl(fd, Linux.FICLONE, (long) source.fd) != 0) {
            throw cloneFailure("FICLONE", source, binding.errno());
        }
    }

    /**
     * Shares {@code length} bytes of {@code source} from {@code srcOffset} into this file at
     * {@code destOffset} (FICLONERANGE). Offsets and length must be filesystem-block aligned,
     * except that the range may end at source EOF; length 0 means "to the end of source".
     */
    public void cloneRangeFrom(NativeFile source, long srcOffset, long length, long destOffset) throws IOException {
        Objects.requireNonNull(source, "source");
        ensureOpen();
        source.ensureOpen();
        FileCloneRange range = new FileCloneRange(binding.runtime);
        range.srcFd.set(source.fd);
        range.srcOffset.set(srcOffset);
        range.srcLength.set(length);
        range.destOffset.set(destOffset);
        if (binding.libc.ioctl(fd, Linux.FICLONERANGE, range.pointer()) != 0) {
            throw cloneFailure("FICLONERANGE", source, binding.errno());
        }
    }

    private NativeException cloneFailure(String operation, NativeFile source, int errno) {
        String target = path + " from " + source.path;
        // EXDEV: different filesystems; EINVAL: unaligned range or a filesystem that rejects the
        // request outright; either way the caller's byte-copy fallback is the right answer.
        if (errno == Errno.EOPNOTSUPP || errno == Errno.EXDEV || errno == Errno.EINVAL || errno == Errno.ENOTTY) {
            return binding.unsupported("reflink clones are not supported on this filesystem", operation, target, errno);
        }
        return binding.failure(operation, target, errno);
    }

    /** Closes the descriptor; later calls are no-ops. */
    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true) && binding.libc.close(fd) != 0) {
            // Linux releases the descriptor even when close reports an error, so never retry.
            throw binding.failure("close", path);
        }
    }

    @Override
    public String toString() {
        return "NativeFile[" + path + ", fd " + fd + (blockDevice ? ", block device" : "") + (closed.get() ? ", closed" : "") + "]";
    }

    static StatStruct fstat(Binding binding, int fd, Path path) throws NativeException {
        StatStruct stat = new StatStruct(binding.runtime);
        if (binding.libc.fstat(fd, stat.pointer()) != 0) {
            throw binding.failure("fstat", path);
        }
        return stat;
    }

    private void ensureOpen() throws IOException {
        if (closed.get()) {
            throw new IOException(path + " is closed");
        }
    }

    private void requireBlockDevice(String operation) throws IOException {
        ensureOpen();
        if (!blockDevice) {
            throw binding.unsupported("not a block device", operation, path, Errno.ENOTTY);
        }
    }

    private void ioctlOrThrow(long request, Pointer out, String name) throws NativeException {
        if (binding.libc.ioctl(fd, request, out) != 0) {
            throw binding.failure(name, path);
        }
    }
}
