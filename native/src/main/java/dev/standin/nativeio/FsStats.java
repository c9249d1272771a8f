package dev.standin.nativeio;

/**
 * Filesystem capacity from statvfs(3), all in bytes. {@code blockSize} is f_frsize, the unit the
 * kernel counts blocks in (what df multiplies by). {@code freeBytes} includes the root reserve;
 * {@code availableBytes} is what an unprivileged writer can still use.
 */
public record FsStats(long blockSize, long totalBytes, long freeBytes, long availableBytes) {
}
