package dev.standin.nativeio;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.IgnoreError;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.off_t;

/**
 * Holder for the {@link LibC} binding interface.
 *
 * <p>Why the nesting: JNR-FFI's ASM loader defines the generated implementation in its own class
 * loader, so the JVM requires the interface to be {@code public}. A public member interface of a
 * package-private class satisfies the JVM while staying unnameable outside this package, which
 * keeps every JNR type out of the module's API.
 */
final class Glibc {

    private Glibc() {
    }

    /**
     * The glibc entry points this module binds, one method per C function, x86_64 Linux ABI.
     *
     * <p>Reached only through {@link Binding#libc}. Every method that reports failure through
     * {@code errno} relies on JNR saving errno right after the call (the loader default), so callers
     * read it with {@code Runtime.getLastError} before making any other native call.
     *
     * <p>{@code open}, {@code ioctl} and {@code syscall} are variadic in C. Binding them with fixed
     * integer/pointer parameters is safe on x86_64: the variadic arguments travel in the same
     * general-purpose registers, and none of these functions reads floating-point varargs.
     */
    public interface LibC {

        /** {@code int open(const char *path, int flags, ...)}; we never pass O_CREAT, so no mode. */
        int open(String path, int flags);

        int close(int fd);

        /** {@code int fstat(int fd, struct stat *buf)}; exported as a symbol since glibc 2.33. */
        int fstat(int fd, @Out Pointer buf);

        /** {@code int statvfs(const char *path, struct statvfs *buf)}. */
        int statvfs(String path, @Out Pointer buf);

        @off_t long lseek(int fd, @off_t long offset, int whence);

        int fallocate(int fd, int mode, @off_t long offset, @off_t long length);

        /** ioctl whose third argument points at a buffer the kernel reads and/or writes. */
        int ioctl(int fd, long request, Pointer arg);

        /** ioctl whose third argument is a plain integer (FICLONE's source fd, FIFREEZE's ignored 0). */
        int ioctl(int fd, long request, long arg);

        /** Returns the error number itself and leaves errno alone, so errno is not worth saving. */
        @IgnoreError
        int posix_fadvise(int fd, @off_t long offset, @off_t long length, int advice);

        int fdatasync(int fd);

        /** {@code int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags)}. */
        int sync_file_range(int fd, @off_t long offset, @off_t long nbytes, int flags);

        int fsync(int fd);

        int syncfs(int fd);

        /** {@code int mincore(void *addr, size_t length, unsigned char *vec)}: one byte per page. */
        int mincore(Pointer address, long length, @Out byte[] vec);

        /** {@code long sysconf(int name)}. */
        @IgnoreError
        long sysconf(int name);

        /** {@code long syscall(long number, ...)}, used for gettid and ioprio_set (no glibc wrapper before 2.30 / at all). */
        long syscall(long number, long arg1, long arg2, long arg3);

        @IgnoreError
        String strerror(int errnum);

    }
}
