package dev.standin.snapshot.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.SnapshotHooks;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.TestImages;
import dev.standin.snapshot.nbd.NbdExport;
import dev.standin.snapshot.nbd.NbdImage;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image hook against real {@code qemu-nbd}, {@code qemu-img} and {@code qemu-io}: a qcow2 and a
 * raw image read as the guest sees them, locked against writers while viewed; an image a running
 * QEMU holds is refused with the reason; a failure half-way leaves no server, directory or record.
 */
@Tag("root")
class ImageHookIT {

    private static final int SIZE = 8 << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path directory;
    private HookContext context;
    private final CommandRunner runner = new CommandRunner();
    private Path qcow2;
    private Path raw;
    private byte[] qcow2Disk;

    @BeforeEach
    void images() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "serves from " + ImageHook.RUNTIME);
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-nbd")), "qemu-nbd is not installed");
        context = HookContext.of(directory.resolve("state"), Optional.empty()).withStepTimeout(TIMEOUT);
        Path source = TestImages.random(directory.resolve("guest.raw"), SIZE, 5);
        qcow2 = directory.resolve("data.qcow2");
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", source.toString(), qcow2.toString());
        run("qemu-io", "-f", "qcow2", "-c", "write -z 4M 1M", qcow2.toString());
        qcow2Disk = Files.readAllBytes(source);
        Arrays.fill(qcow2Disk, 4 << 20, 5 << 20, (byte) 0);
        raw = TestImages.random(directory.resolve("boot.img"), SIZE, 6);
    }

    @AfterEach
    void nothingLeft() throws Exception {
        assertEquals(List.of(), servers(), "qemu-nbd processes left");
        if (context != null) {
            assertEquals(List.of(), context.registry().all(), "snapshot records left");
        }
    }

    private SnapshotHook hook(String spec) {
        return new SnapshotHooks(context, Optional.empty()).create(SnapshotSpec.parse(spec));
    }

    @Test
    void stoppedImagesAreReadAsTheGuestSeesThemAndNoWriterGetsInMeanwhile() throws Exception {
        List<Snapshot> views = hook("image").takeAll(List.of(qcow2, raw), List.of("k1", "k2"));
        Path served;
        try {
            NbdExport first = views.get(0).export().orElseThrow();
            served = first.socket().getParent();
            assertTrue(served.startsWith(ImageHook.RUNTIME), served.toString());
            assertArrayEquals(qcow2Disk, readAll(first), "the qcow2 image as the guest sees it");
            assertArrayEquals(Files.readAllBytes(raw), readAll(views.get(1).export().orElseThrow()));
            try (NbdImage view = NbdImage.open(first, 1, TIMEOUT)) {
                assertTrue(view.dataExtents(4 << 20, 5 << 20).isEmpty(), "zeroed clusters are holes");
            }
            CommandRunner.Result writer = runner.run(List.of("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k",
                    qcow2.toString()), TIMEOUT);
            assertFalse(writer.ok(), "a writer is locked out while the image is viewed");
            assertTrue(writer.stderr().contains("lock"), writer.describe());
            assertEquals(2, servers().size());
        } finally {
            for (Snapshot view : views) {
                view.close();
            }
        }
        assertFalse(Files.exists(served), "the take's directory is gone");
        run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k", qcow2.toString()); // the lock went with it
    }

    @Test
    void anImageARunningVmHoldsIsRefusedInWordsAndNothingIsLeft() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64")), "QEMU is not installed");
        Process vm = new ProcessBuilder("qemu-system-x86_64", "-machine", "q35,accel=tcg", "-m", "64", "-S",
                "-nodefaults", "-display", "none", "-no-user-config",
                "-blockdev", "driver=file,filename=" + qcow2 + ",node-name=f",
                "-blockdev", "driver=qcow2,file=f,node-name=d", "-device", "virtio-blk-pci,drive=d")
                .redirectErrorStream(true).redirectOutput(directory.resolve("qemu.log").toFile()).start();
        try {
            awaitLocked(qcow2);
            // probed (after the raw image is served), and served directly
            for (List<Path> images : List.of(List.of(raw, qcow2), List.of(qcow2))) {
                String spec = images.size() == 2 ? "image" : "image:qcow2";
                SnapshotException refused = assertThrows(SnapshotException.class,
                        () -> hook(spec).takeAll(images, images.stream().map(Path::toString).toList()));
                assertTrue(refused.getMessage().startsWith("image " + qcow2 + " is in use: a VM still runs on it"),
                        refused.getMessage());
                assertFalse(refused.isPermanent(), "the VM may stop");
            }
            assertEquals(List.of(), runtimeDirectories());
        } finally {
            vm.destroyForcibly();
            vm.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aFailureAfterTheFirstServerStopsItAndAMissingImageIsPermanent() throws Exception {
        HookContext failing = context.withCheckpoints(step -> {
            if (step.equals("image.served") && servers().size() == 2) {
                throw new SnapshotException("injected at " + step, false);
            }
        });
        SnapshotException injected = assertThrows(SnapshotException.class,
                () -> new ImageHook(Optional.empty(), failing).takeAll(List.of(qcow2, raw), List.of("k1", "k2")));
        assertEquals("injected at image.served", injected.getMessage());
        assertEquals(List.of(), runtimeDirectories());

        SnapshotException missing = assertThrows(SnapshotException.class,
                () -> hook("image:raw").take(directory.resolve("gone.img"), "k"));
        assertTrue(missing.isPermanent());
        assertEquals("image " + directory.resolve("gone.img") + " is not there", missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> hook("image:qcow2:x"));
    }

    private void awaitLocked(Path image) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (runner.run(List.of("qemu-img", "info", image.toString()), TIMEOUT).ok()) {
            assertTrue(System.nanoTime() < deadline, "QEMU never opened " + image);
            Thread.sleep(50);
        }
    }

    /** Takes' directories under the runtime directory (any left by this machine's runs is a leak too). */
    private static List<Path> runtimeDirectories() throws Exception {
        if (!Files.isDirectory(ImageHook.RUNTIME)) {
            return List.of();
        }
        try (Stream<Path> all = Files.list(ImageHook.RUNTIME)) {
            return all.toList();
        }
    }

    private List<ProcessHandle> servers() {
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(p -> p.info().commandLine().map(c -> c.contains("qemu-nbd") && c.contains(directory.toString()))
                    .orElse(false)).toList();
        }
    }

    private static byte[] readAll(NbdExport export) throws Exception {
        try (NbdImage view = NbdImage.open(export, 2, TIMEOUT)) {
            ByteBuffer all = ByteBuffer.allocate((int) view.size());
            view.readFully(0, all);
            return all.array();
        }
    }

    private void run(String... command) throws Exception {
        CommandRunner.Result result = runner.run(List.of(command), TIMEOUT);
        assertTrue(result.ok(), result.describe());
    }
}
