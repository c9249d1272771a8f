package dev.standin.nativeio;

import jnr.ffi.Runtime;

/**
 * The bound library plus the errno plumbing every call needs. Shared by {@link NativeIo} and the
 * objects it hands out; immutable, so it is safe to use from any thread (JNR keeps errno per thread).
 */
final class Binding {

    final Glibc.LibC libc;
    final Runtime runtime;
    /** sysconf(_SC_PAGESIZE), asked once: 4096 on x86_64. */
    final long pageSize;

    Binding(Glibc.LibC libc, Runtime runtime) {
        this.libc = libc;
        this.runtime = runtime;
        long page = libc.sysconf(Linux.SC_PAGESIZE);
        this.pageSize = page > 0 ? page : 4096;
    }

    /** errno of the last call on this thread; read it before any other native call. */
    int errno() {
        return runtime.getLastError();
    }

    /** A failure built from the errno the previous call just left behind. */
    NativeException failure(String operation, Object target) {
        return failure(operation, target, errno());
    }

    NativeException failure(String operation, Object target, int errno) {
        return new NativeException(operation, String.valueOf(target), errno, describe(errno));
    }

    UnsupportedOperationIOException unsupported(String reason, String operation, Object target, int errno) {
        return new UnsupportedOperationIOException(reason, operation, String.valueOf(target), errno, describe(errno));
    }

    private String describe(int errno) {
        String text = libc.strerror(errno);
        return text == null ? "error " + errno : text;
    }
}
