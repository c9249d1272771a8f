package dev.standin.nativeio;

/**
 * libc could not be bound through JNR (wrong OS or architecture, jffi's native stub missing,
 * a symbol absent from an old glibc). Unchecked because it is a deployment problem, not an I/O
 * condition; use {@link NativeIo#tryLoad()} to fall back to plain Java instead.
 */
public final class NativeUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    NativeUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
