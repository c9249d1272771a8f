package dev.standin.snapshot.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.nativeio.Extent;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.StaleSnapshots;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The qemu hook on a running VM whose drive is qcow2: the view is the guest-visible disk served
 * by QEMU's NBD export of the frozen node (read here with the client the engine uses), zeroed
 * ranges are holes, the chain is restored with every guest write, the export and its socket go
 * with the snapshot, and the persistent dirty bitmap survives a clean restart of the VM.
 */
@Tag("root")
class QemuQcow2HookIT {

    private static final int SIZE = 64 << 20;
    private static final String KEY = "q2";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path directory;
    private Path state;
    private Path image;
    private byte[] guestDisk;
    private QemuVm vm;
    private HookContext context;
    private final CommandRunner runner = new CommandRunner();

    @BeforeAll
    static void qemuInstalled() {
        QemuVm.assumeInstalled();
    }

    @BeforeEach
    void startVm() throws Exception {
        state = Files.createDirectories(directory.resolve("state"));
        Path raw = TestImages.random(directory.resolve("disk.raw"), SIZE, 11);
        image = directory.resolve("disk.qcow2");
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), image.toString());
        run("qemu-io", "-f", "qcow2", "-c", "write -z 48M 8M", image.toString());
        guestDisk = Files.readAllBytes(raw);
        Arrays.fill(guestDisk, 48 << 20, 56 << 20, (byte) 0);
        Files.delete(raw);
        vm = QemuVm.start(directory, image, "qcow2");
        context = HookContext.of(state, Optional.empty()).withStepTimeout(TIMEOUT);
    }

    @AfterEach
    void stopVm() {
        vm.close();
    }

    private void run(String... command) throws Exception {
        CommandRunner.Result result = runner.run(List.of(command), TIMEOUT);
        assertTrue(result.ok(), result.describe());
    }

    private QemuHook hook(HookContext c) {
        return new QemuHook(vm.hookSocket, QemuVm.NODE, c);
    }

    private void guestWrite(int offset, int length, int pattern) throws Exception {
        vm.guestWrite(offset, length, pattern);
        Arrays.fill(guestDisk, offset, offset + length, (byte) pattern);
    }

    private static byte[] readAll(NbdExport export) throws Exception {
        try (NbdImage view = NbdImage.open(export, 2, TIMEOUT)) {
            ByteBuffer all = ByteBuffer.allocate((int) view.size());
            view.readFully(0, all);
            return all.array();
        }
    }

    @Test
    void theViewIsTheGuestVisibleDiskServedOverNbdAndStaysFrozen() throws Exception {
        guestWrite(1 << 20, 65536, 0xaa);
        byte[] frozen = guestDisk.clone();
        NbdExport export;
        try (Snapshot snapshot = hook(context).take(image, KEY)) {
            assertEquals(image, snapshot.view());
            export = snapshot.export().orElseThrow();
            assertTrue(Files.exists(export.socket()));
            assertArrayEquals(frozen, readAll(export), "the view is the guest's disk at the snapshot");
            try (NbdImage view = NbdImage.open(export, 1, TIMEOUT)) {
                assertTrue(view.dataExtents(48 << 20, 56 << 20).isEmpty(), "zeroed clusters are holes");
                assertEquals(List.of(new Extent(0, 48 << 20)), view.dataExtents(0, 48 << 20));
            }
            guestWrite(2 << 20, 65536, 0xbb);
            guestWrite(50 << 20, 65536, 0xbc);
            vm.guestFlush();
            assertArrayEquals(frozen, readAll(export), "guest writes after the snapshot are not in the view");
        }
        assertEquals(QemuVm.NODE, vm.deviceRoot(), "the device is back on its own node");
        assertTrue(vm.nodeNames().stream().noneMatch(n -> n.startsWith(StaleSnapshots.PREFIX)), vm.nodeNames().toString());
        assertEquals(0, vm.qmp().execute("query-block-exports", null).size(), "the export is gone");
        assertFalse(Files.exists(export.socket()), "the NBD socket is gone");
        assertEquals(List.of(), context.registry().all());
        vm.quit();
        Path expected = Files.write(directory.resolve("expected.raw"), guestDisk);
        run("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw", image.toString(), expected.toString());
    }

    @Test
    void persistentBitmapsSurviveACleanRestartOfTheVm() throws Exception {
        try (Snapshot first = hook(context).take(image, KEY)) {
            first.replicated("digest-1");
        }
        JsonNode bitmap = vm.bitmapInfo().get(0);
        assertTrue(bitmap.path("persistent").asBoolean(), bitmap.toString());
        guestWrite(20 << 20, 65536, 0x22);
        vm.quit();
        vm = QemuVm.start(directory, image, "qcow2");
        try (Snapshot second = hook(context).take(image, KEY)) {
            assertEquals("dirty-bitmap", second.tracking().describe(), "tracking survived the restart");
            var changes = second.tracking().changes().orElseThrow();
            assertTrue(changes.touches(20 << 20, 65536), changes.toString());
            assertEquals(65536, changes.bytes(), changes.toString());
            assertArrayEquals(guestDisk, readAll(second.export().orElseThrow()));
        }
    }

    @Test
    void aVmKilledWhileItsViewIsExportedKeepsItsWritesAndLeavesNoSocket() throws Exception {
        Snapshot snapshot = hook(context).take(image, KEY);
        NbdExport export = snapshot.export().orElseThrow();
        guestWrite(6 << 20, 65536, 0x77);
        vm.guestFlush();
        vm.kill();
        assertThrows(java.io.IOException.class, () -> readAll(export));
        snapshot.close();
        assertFalse(Files.exists(export.socket()));
        assertEquals(List.of(), context.registry().all());
        Path expected = Files.write(directory.resolve("expected.raw"), guestDisk);
        run("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw", image.toString(), expected.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu.snapshot-taken", "qemu.exported", "qemu.changes-read"})
    void aFailureAroundTheExportReleasesIt(String step) throws Exception {
        try (Snapshot armed = hook(context).take(image, KEY)) {
            armed.replicated("digest-1");
        }
        guestWrite(5 << 20, 4096, 0x66);
        HookContext failing = context.withCheckpoints(s -> {
            if (s.equals(step)) {
                throw new SnapshotException("injected failure at " + s, false);
            }
        });
        SnapshotException e = assertThrows(SnapshotException.class, () -> hook(failing).take(image, KEY));
        assertEquals(0, e.getSuppressed().length, "release succeeded");
        assertEquals(QemuVm.NODE, vm.deviceRoot());
        assertEquals(0, vm.qmp().execute("query-block-exports", null).size());
        try (var files = Files.list(state.resolve("qemu"))) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".qcow2") || f.toString().endsWith(".nbd")));
        }
        try (Snapshot next = hook(context).take(image, KEY)) {
            assertTrue(next.tracking().changes().orElseThrow().touches(5 << 20, 4096), next.tracking().toString());
        }
    }
}
