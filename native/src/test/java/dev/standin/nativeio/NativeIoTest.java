package dev.standin.nativeio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The facade against the running kernel; needs no root. */
class NativeIoTest {

    private final NativeIo io = NativeIo.load();

    @TempDir
    Path dir;

    @Test
    void loadsOnceAndTryLoadAgrees() {
        assertSame(io, NativeIo.load());
        assertSame(io, NativeIo.tryLoad().orElseThrow());
    }

    @Test
    void missingPathIsEnoentWithThePathInTheMessage() {
        Path missing = dir.resolve("no-such-file.img");
        NativeException e = assertThrows(NativeException.class, () -> io.open(missing, false));
        assertEquals(2, e.errno());
        assertEquals("ENOENT", e.errnoName());
        assertEquals("open(O_RDONLY) " + missing + ": No such file or directory (ENOENT)", e.getMessage());

        NativeException statvfs = assertThrows(NativeException.class, () -> io.statvfs(missing));
        assertEquals("ENOENT", statvfs.errnoName());
        assertTrue(statvfs.getMessage().contains(missing.toString()), statvfs.getMessage());
    }

    @Test
    void freezingAMissingPathIsEnoentBeforeAnyIoctl() {
        Path missing = dir.resolve("no-such-mount");
        NativeException e = assertThrows(NativeException.class, () -> io.freeze(missing));
        assertEquals("ENOENT", e.errnoName());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void openNeverCreates() {
        Path missing = dir.resolve("would-be-created");
        NativeException e = assertThrows(NativeException.class, () -> io.open(missing, true));
        assertEquals("ENOENT", e.errnoName());
        assertFalse(Files.exists(missing));
    }

    @Test
    void statvfsMatchesDf() throws Exception {
        String df = Commands.require("df", "coreutils");
        FsStats stats = io.statvfs(dir);
        String[] fields = Commands.check(df, "-B1", "--output=size,avail", dir.toString())
                .strip().lines().reduce((first, second) -> second).orElseThrow().trim().split("\\s+");
        long dfSize = Long.parseLong(fields[0]);
        long dfAvail = Long.parseLong(fields[1]);
        assertTrue(stats.blockSize() > 0);
        assertEquals(dfSize, stats.totalBytes(), "total bytes vs df");
        // other processes may write to this filesystem between the two readings
        assertEquals(dfAvail, stats.availableBytes(), 256.0 * 1024 * 1024, "available bytes vs df");
        assertTrue(stats.freeBytes() >= stats.availableBytes());
        assertTrue(stats.totalBytes() >= stats.freeBytes());
    }

    @Test
    void ioprioIdleAppliesToTheCallingThreadOnly() throws Exception {
        String ionice = Commands.require("ionice", "util-linux");
        String before = Commands.check(ionice, "-p", Long.toString(currentTid())).strip();
        CompletableFuture<String> worker = CompletableFuture.supplyAsync(() -> {
            try {
                io.ioprioIdleForCurrentThread();
                return Commands.check(ionice, "-p", Long.toString(currentTid())).strip();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, runnable -> {
            Thread thread = new Thread(runnable, "ioprio-test");
            thread.setDaemon(true);
            thread.start();
        });
        assertEquals("idle", worker.get(60, TimeUnit.SECONDS));
        assertEquals(before, Commands.check(ionice, "-p", Long.toString(currentTid())).strip(),
                "the test thread's own priority must be untouched");
        assertFalse(before.startsWith("idle"), before);
    }

    /** The kernel task id of the calling thread: /proc/thread-self links to PID/task/TID. */
    static long currentTid() throws Exception {
        Path link = Files.readSymbolicLink(Path.of("/proc/thread-self"));
        return Long.parseLong(link.getFileName().toString());
    }
}
