package dev.standin.nativeio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * FIFREEZE/FITHAW on real mounts. Every write to a possibly-frozen filesystem runs on a daemon
 * thread with a timeout, and MountedFs thaws before unmounting, so a broken thaw fails the test
 * instead of hanging the build.
 */
@Tag("root")
class FreezeIT {

    private static final long WRITE_TIMEOUT_SECONDS = 10;

    private final NativeIo io = NativeIo.load();
    private ExecutorService writers;

    @TempDir
    Path dir;

    @BeforeEach
    void startWriters() {
        writers = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "frozen-fs-writer");
            thread.setDaemon(true);
            return thread;
        });
    }

    @AfterEach
    void stopWriters() {
        writers.shutdownNow();
    }

    @ParameterizedTest
    @EnumSource(value = FsType.class, names = {"EXT4", "XFS"})
    void writesWaitWhileFrozenAndProceedAfterThaw(FsType type) throws Exception {
        try (MountedFs fs = MountedFs.create(type, dir)) {
            Future<?> write;
            try (Freeze freeze = io.freeze(fs.mountPoint())) {
                assertEquals(fs.mountPoint(), freeze.mountPoint());
                write = writeAsync(fs.resolve("during-freeze"));
                assertThrows(TimeoutException.class, () -> write.get(500, TimeUnit.MILLISECONDS),
                        "a write to a frozen filesystem must block");
            }
            write.get(WRITE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(value = FsType.class, names = {"EXT4", "XFS"})
    void thawsEvenWhenTheCallerThrows(FsType type) throws Exception {
        try (MountedFs fs = MountedFs.create(type, dir)) {
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> {
                try (Freeze ignored = io.freeze(fs.mountPoint())) {
                    throw new IllegalStateException("snapshot failed");
                }
            });
            assertEquals("snapshot failed", thrown.getMessage());
            assertEquals(0, thrown.getSuppressed().length, "the thaw itself must not fail");
            writeAsync(fs.resolve("after-thaw")).get(WRITE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(value = FsType.class, names = {"EXT4", "XFS"})
    void freezingTwiceIsEbusyAndCloseIsIdempotent(FsType type) throws Exception {
        try (MountedFs fs = MountedFs.create(type, dir)) {
            Freeze first = io.freeze(fs.mountPoint());
            try {
                NativeException e = assertThrows(NativeException.class, () -> io.freeze(fs.mountPoint()));
                assertEquals("EBUSY", e.errnoName());
                assertFalse(e instanceof UnsupportedOperationIOException);
                assertTrue(e.getMessage().startsWith("FIFREEZE " + fs.mountPoint() + ": "), e.getMessage());
            } finally {
                first.close();
            }
            first.close(); // second close: no FITHAW (which would fail with EINVAL), no exception
            writeAsync(fs.resolve("after-thaw")).get(WRITE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            // and the filesystem can be frozen again afterwards
            io.freeze(fs.mountPoint()).close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = FsType.class, names = {"TMPFS"})
    void aFilesystemWithoutFreezeSupportGivesTheTypedException(FsType type) throws Exception {
        try (MountedFs fs = MountedFs.create(type, dir)) {
            try {
                // a future kernel may learn to freeze tmpfs; then it must also thaw cleanly
                io.freeze(fs.mountPoint()).close();
            } catch (UnsupportedOperationIOException e) {
                assertEquals("EOPNOTSUPP", e.errnoName());
                assertEquals("this filesystem cannot be frozen", e.reason());
            }
            writeAsync(fs.resolve("after")).get(WRITE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private Future<?> writeAsync(Path file) {
        return writers.submit(() -> {
            TestFiles.write(file, 0, TestFiles.randomBytes(64 * 1024, 41));
            return null;
        });
    }
}
