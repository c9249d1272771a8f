package dev.standin.snapshot.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.standin.nativeio.NativeIo;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.HookProcess;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHooks;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.TestImages;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Proves the file hook on real filesystems made on loop devices: a reflink clone on btrfs, and on
 * ext4 (no reflink) a copy under FIFREEZE that always ends thawed, also when the agent is killed
 * while the filesystem is frozen (the watchdog thaws it) or the copy outlasts its window.
 */
@Tag("root")
class FileHookIT {

    private static final CommandRunner RUN = new CommandRunner();

    @TempDir
    Path directory;
    private Path mountPoint;

    private Path mount(String type, String... mkfs) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to mount filesystems");
        Path image = directory.resolve(type + ".img");
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(512L << 20);
        }
        assumeTrue(RUN.run(List.of("which", mkfs[0]), Duration.ofSeconds(5)).ok(), mkfs[0] + " is not installed");
        RUN.check(concat(List.of(mkfs), image.toString()), Duration.ofSeconds(60));
        mountPoint = Files.createDirectories(directory.resolve(type + "-mnt"));
        RUN.check(List.of("mount", "-o", "loop", image.toString(), mountPoint.toString()), Duration.ofSeconds(60));
        return mountPoint;
    }

    private static List<String> concat(List<String> a, String b) {
        List<String> all = new java.util.ArrayList<>(a);
        all.add(b);
        return all;
    }

    @AfterEach
    void unmount() throws Exception {
        if (mountPoint != null) {
            RUN.run(List.of("fsfreeze", "--unfreeze", mountPoint.toString()), Duration.ofSeconds(10));
            RUN.check(List.of("umount", mountPoint.toString()), Duration.ofSeconds(60));
        }
    }

    private HookContext context() {
        return HookContext.of(directory.resolve("state"), NativeIo.tryLoad()).withStepTimeout(Duration.ofSeconds(30));
    }

    private static void overwrite(Path image, long offset, int length, int value) throws Exception {
        try (FileChannel f = FileChannel.open(image, StandardOpenOption.WRITE)) {
            byte[] bytes = new byte[length];
            java.util.Arrays.fill(bytes, (byte) value);
            f.write(ByteBuffer.wrap(bytes), offset);
            f.force(false);
        }
    }

    /** True if a small write to the filesystem finishes within {@code millis} (i.e. it is not frozen). */
    private boolean writable(long millis) throws Exception {
        CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
            try {
                Files.writeString(mountPoint.resolve("probe"), "x");
                try (FileChannel f = FileChannel.open(mountPoint.resolve("probe"), StandardOpenOption.WRITE)) {
                    f.force(true);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        try {
            write.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    @Test
    void reflinkCloneOnBtrfs() throws Exception {
        Path fs = mount("btrfs", "mkfs.btrfs", "-q", "-f");
        Path image = TestImages.random(fs.resolve("vm.img"), 32 << 20, 3);
        String before = TestImages.sha256(image);
        HookContext context = context();
        Path view;
        try (Snapshot snapshot = new FileHook(null, context).take(image, "k")) {
            view = snapshot.view();
            assertEquals(image.getParent(), view.getParent(), "a clone lives beside the image");
            assertTrue(snapshot.tracking().reason().contains("reflink"), snapshot.tracking().reason());
            overwrite(image, 1 << 20, 65536, 0x5a);
            assertEquals(before, TestImages.sha256(view), "the clone keeps the old blocks");
            assertNotEquals(before, TestImages.sha256(image));
        }
        assertFalse(Files.exists(view));
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void freezeAndCopyOnExt4AlwaysThaws() throws Exception {
        Path fs = mount("ext4", "mkfs.ext4", "-q", "-F");
        Path image = TestImages.random(fs.resolve("vm.img"), 32 << 20, 4);
        String before = TestImages.sha256(image);
        HookContext context = context();
        Path view;
        try (Snapshot snapshot = new FileHook(null, context).take(image, "k")) {
            view = snapshot.view();
            assertTrue(view.startsWith(directory.resolve("state")), "copied off the frozen filesystem: " + view);
            assertTrue(writable(2000), "thawed as soon as the copy was made");
            overwrite(image, 0, 4096, 0x33);
            assertEquals(before, TestImages.sha256(view));
        }
        assertFalse(Files.exists(view));
        assertEquals(List.of(), context.registry().all());
    }

    @ParameterizedTest
    @ValueSource(strings = {"file.recorded", "file.freezing", "file.frozen", "file.copied"})
    void aFailureAtAnyStepThawsAndDeletesTheCopy(String failAt) throws Exception {
        Path fs = mount("ext4", "mkfs.ext4", "-q", "-F");
        Path image = TestImages.random(fs.resolve("vm.img"), 8 << 20, 5);
        HookContext context = context().withCheckpoints(step -> {
            if (step.equals(failAt)) {
                throw new SnapshotException("injected failure at " + step, false);
            }
        });
        SnapshotException e = assertThrows(SnapshotException.class, () -> new FileHook(null, context).take(image, "k"));
        assertTrue(e.getMessage().contains("injected failure at " + failAt), e.getMessage());
        assertEquals(0, e.getSuppressed().length, "released cleanly");
        assertTrue(writable(2000), "thawed");
        assertEquals(List.of(), context.registry().all());
        Path copies = directory.resolve("state").resolve("file");
        if (Files.exists(copies)) {
            try (var files = Files.list(copies)) {
                assertEquals(0, files.count(), "no copy left");
            }
        }
        try (var files = Files.list(fs)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().contains(StaleSnapshots.PREFIX)),
                    "no clone left beside the image");
        }
    }

    @Test
    void anAgentKilledWhileTheFilesystemIsFrozenLeavesItThawed() throws Exception {
        Path fs = mount("ext4", "mkfs.ext4", "-q", "-F");
        Path image = TestImages.random(fs.resolve("vm.img"), 8 << 20, 6);
        Path state = directory.resolve("state");
        Process agent = HookProcess.startAndWait(state, "file", image, "file.frozen");
        try {
            assertFalse(writable(500), "frozen while the agent copies");
            agent.destroyForcibly().waitFor();
            long killed = System.nanoTime();
            assertTrue(writable(10_000), "the watchdog thawed the filesystem after the agent died");
            System.out.printf("thawed %.2f s after the kill%n", (System.nanoTime() - killed) / 1e9);
        } finally {
            agent.destroyForcibly();
        }
        HookContext context = context();
        assertEquals(1, context.registry().stale().size());
        List<String> report = new SnapshotHooks(context, Optional.empty()).releaseStale();
        assertTrue(report.get(0).startsWith("released stale file snapshot"), report.toString());
        assertEquals(List.of(), context.registry().all());
        try (var files = Files.list(state.resolve("file"))) {
            assertEquals(0, files.count(), "the partial copy was deleted");
        }
    }
}
