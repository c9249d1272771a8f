package dev.standin.snapshot.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHooks;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.TestImages;
import dev.standin.snapshot.nbd.NbdImage;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two drives of one running VM (one raw, one qcow2) viewed at one instant. A writer stamps a
 * counter into the first drive and then the second, over and over, while the views are taken:
 * views taken at one instant hold the same counter, or the first drive's one ahead; views taken
 * one after the other would let the second run ahead.
 */
@Tag("root")
class QemuDrivesTogetherIT {

    private static final int SIZE = 16 << 20;
    private static final long STAMP = 4 << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path directory;
    private QemuVm vm;
    private Path raw;
    private Path qcow2;
    private HookContext context;

    @BeforeAll
    static void qemuInstalled() {
        QemuVm.assumeInstalled();
    }

    @BeforeEach
    void startVm() throws Exception {
        raw = TestImages.random(directory.resolve("data.raw"), SIZE, 3);
        qcow2 = directory.resolve("log.qcow2");
        CommandRunner.Result created = new CommandRunner().run(List.of("qemu-img", "create", "-q", "-f", "qcow2",
                qcow2.toString(), Integer.toString(SIZE)), TIMEOUT);
        assertTrue(created.ok(), created.describe());
        vm = QemuVm.start(directory, raw, "raw", qcow2);
        context = HookContext.of(Files.createDirectories(directory.resolve("state")), Optional.empty())
                .withStepTimeout(TIMEOUT);
    }

    @AfterEach
    void stopVm() {
        vm.close();
    }

    private List<Snapshot> takeBoth() throws Exception {
        var hook = new SnapshotHooks(context, Optional.empty())
                .create(SnapshotSpec.parse("qemu:" + vm.hookSocket + ":disk0,disk1"));
        assertEquals(2, hook.disks());
        return hook.takeAll(List.of(raw, qcow2), List.of("k0", "k1"));
    }

    @Test
    void bothViewsAreOfOneInstant() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger stamps = new AtomicInteger();
        AtomicReference<Exception> writerFailed = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try {
                for (int counter = 1; !stop.get(); counter++) {
                    vm.guestWrite("vd0", STAMP, 512, counter & 0xff);
                    vm.guestWrite("vd1", STAMP, 512, counter & 0xff);
                    stamps.set(counter);
                }
            } catch (Exception e) {
                writerFailed.set(e);
            }
        });
        writer.start();
        List<Snapshot> views;
        try {
            while (stamps.get() < 5) {
                Thread.sleep(10);
            }
            views = takeBoth();
            int during = stamps.get();
            while (stamps.get() < during + 5) {
                Thread.sleep(10);
            }
        } finally {
            stop.set(true);
            writer.join();
        }
        assertEquals(null, writerFailed.get());
        try {
            int first = TestImages.read(views.get(0).view(), STAMP, 1)[0] & 0xff;
            int second;
            try (NbdImage image = NbdImage.open(views.get(1).export().orElseThrow(), 1, TIMEOUT)) {
                ByteBuffer byte0 = ByteBuffer.allocate(1);
                image.readFully(STAMP, byte0);
                second = byte0.get(0) & 0xff;
            }
            int ahead = (first - second) & 0xff;
            assertTrue(ahead == 0 || ahead == 1, "first drive's stamp " + first + ", second's " + second);
            assertTrue(vm.deviceRoot("vd0").startsWith(StaleSnapshots.PREFIX));
            assertTrue(vm.deviceRoot("vd1").startsWith(StaleSnapshots.PREFIX));
            assertEquals(2, context.registry().all().size(), "one record per drive");
        } finally {
            for (Snapshot view : views) {
                view.close();
            }
        }
        assertEquals("disk0", vm.deviceRoot("vd0"));
        assertEquals("disk1", vm.deviceRoot("vd1"));
        assertEquals(0, vm.qmp().execute("query-block-exports", null).size());
        assertEquals(List.of(), context.registry().all());
        try (var files = Files.list(directory.resolve("state").resolve("qemu"))) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".qcow2") || f.toString().endsWith(".nbd")));
        }
    }

    @Test
    void aDriveThatDoesNotExistTakesNeitherView() throws Exception {
        var hook = new SnapshotHooks(context, Optional.empty())
                .create(SnapshotSpec.parse("qemu:" + vm.hookSocket + ":disk0,disk9"));
        SnapshotException e = assertThrows(SnapshotException.class, () -> hook.takeAll(List.of(raw, qcow2), List.of("k0", "k1")));
        assertTrue(e.getMessage().contains("no block node named 'disk9'"), e.getMessage());
        assertTrue(e.isPermanent());
        assertEquals("disk0", vm.deviceRoot("vd0"));
        assertEquals(List.of(), context.registry().all());
        SnapshotException count = assertThrows(SnapshotException.class, () -> hook.takeAll(List.of(raw), List.of("k0")));
        assertTrue(count.getMessage().contains("names 2 drive(s) (disk0,disk9) for 1 disk(s)"), count.getMessage());
    }

    @Test
    void aFailureAfterTheTransactionReleasesBothDrives() throws Exception {
        context = context.withCheckpoints(step -> {
            if (step.equals("qemu.exported")) {
                throw new SnapshotException("injected failure at " + step, false);
            }
        });
        SnapshotException e = assertThrows(SnapshotException.class, this::takeBoth);
        assertEquals(0, e.getSuppressed().length, "release succeeded");
        assertEquals("disk0", vm.deviceRoot("vd0"));
        assertEquals("disk1", vm.deviceRoot("vd1"));
        assertEquals(0, vm.qmp().execute("query-block-exports", null).size());
        assertEquals(List.of(), context.registry().all());
    }
}
