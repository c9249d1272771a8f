package dev.standin.snapshot.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.snapshot.ChangedExtents;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * Proves the qemu hook against a real running QEMU: the view does not change while the guest
 * writes, the drive is back on its image with every guest write in it afterwards, dirty bitmaps
 * name exactly the changed extents, and a failure at any step, a VM that dies, or an agent that
 * is killed leaves no overlay, no stale record and no VM running on a temporary layer.
 */
@Tag("root")
class QemuHookIT {

    private static final long SIZE = 64L << 20;
    private static final String KEY = "abc123";

    @TempDir
    Path directory;
    private Path state;
    private QemuVm vm;
    private HookContext context;

    @BeforeAll
    static void qemuInstalled() {
        QemuVm.assumeInstalled();
    }

    @BeforeEach
    void startVm() throws Exception {
        state = Files.createDirectories(directory.resolve("state"));
        vm = QemuVm.start(directory, TestImages.random(directory.resolve("disk.raw"), SIZE, 7));
        context = HookContext.of(state, Optional.empty()).withStepTimeout(Duration.ofSeconds(60));
    }

    @AfterEach
    void stopVm() throws Exception {
        vm.close();
    }

    private QemuHook hook(HookContext c) {
        return new QemuHook(vm.hookSocket, QemuVm.NODE, c);
    }

    @Test
    void viewStaysFrozenWhileTheGuestWritesAndTheChainIsRestored() throws Exception {
        vm.guestWrite(1 << 20, 65536, 0xaa);
        try (Snapshot snapshot = hook(context).take(vm.image, KEY)) {
            assertEquals(vm.image, snapshot.view());
            assertTrue(vm.deviceRoot().startsWith(StaleSnapshots.PREFIX), "guest writes go to the overlay");
            assertTrue(vm.running(), "the VM keeps running");
            String frozen = TestImages.sha256(snapshot.view());
            vm.guestWrite(2 << 20, 65536, 0xbb);
            vm.guestWrite(SIZE - 65536, 65536, 0xbc);
            vm.guestFlush();
            assertEquals(frozen, TestImages.sha256(snapshot.view()), "the view did not change");
            assertTrue(TestImages.filledWith(snapshot.view(), 1 << 20, 65536, 0xaa), "writes before the snapshot are in the view");
            assertFalse(snapshot.tracking().changes().isPresent(), "first cycle: nothing to track from");
            assertTrue(snapshot.tracking().describe().startsWith("full-scan:no replicated view"), snapshot.tracking().describe());
        }
        assertEquals(QemuVm.NODE, vm.deviceRoot(), "the device is back on its own node");
        assertTrue(vm.nodeNames().stream().noneMatch(n -> n.startsWith(StaleSnapshots.PREFIX)), vm.nodeNames().toString());
        assertTrue(TestImages.filledWith(vm.image, 2 << 20, 65536, 0xbb), "the guest's writes during the cycle were committed");
        assertTrue(TestImages.filledWith(vm.image, SIZE - 65536, 65536, 0xbc));
        assertEquals(List.of(), context.registry().all(), "the record is gone");
        try (var files = Files.list(state.resolve("qemu"))) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".qcow2")), "the overlay file is gone");
        }
        assertTrue(vm.running());
    }

    @Test
    void dirtyBitmapsNameExactlyTheChangesSinceTheReplicatedView() throws Exception {
        QemuHook hook = hook(context);
        try (Snapshot first = hook.take(vm.image, KEY)) {
            vm.guestWrite(8 << 20, 4096, 0x11); // during cycle 1: after its view, so it belongs to cycle 2
            first.replicated("digest-1");
        }
        vm.guestWrite(20 << 20, 65536, 0x22);
        ChangedExtents second;
        try (Snapshot snapshot = hook.take(vm.image, KEY)) {
            assertEquals("dirty-bitmap", snapshot.tracking().describe());
            second = snapshot.tracking().changes().orElseThrow();
            vm.guestWrite(30 << 20, 4096, 0x33); // during cycle 2, which then fails (not replicated)
        }
        assertTrue(second.touches(8 << 20, 4096), "a write during the previous cycle is tracked: " + second);
        assertTrue(second.touches(20 << 20, 65536), second.toString());
        assertFalse(second.touches(0, 8 << 20), second.toString());
        assertFalse(second.touches(40 << 20, SIZE - (40 << 20)), second.toString());
        assertTrue(second.bytes() <= 4 * 65536, "granularity is the bitmap's (64 KiB): " + second);

        vm.guestWrite(50 << 20, 4096, 0x44);
        try (Snapshot third = hook.take(vm.image, KEY)) {
            ChangedExtents changes = third.tracking().changes().orElseThrow();
            // Cycle 2 was not replicated, so its changes must come again, with the later ones.
            for (long offset : new long[] {8 << 20, 20 << 20, 30 << 20, 50 << 20}) {
                assertTrue(changes.touches(offset, 4096), offset + " missing from " + changes);
            }
            third.replicated("digest-1");
        }
        try (Snapshot fourth = hook.take(vm.image, KEY)) {
            assertEquals(0, fourth.tracking().changes().orElseThrow().bytes(), "nothing written since the replicated view");
            fourth.replicated("digest-1");
        }
        assertEquals(1, vm.bitmaps().size(), "one bitmap per destination between cycles: " + vm.bitmaps());
        assertTrue(vm.bitmapInfo().get(0).path("recording").asBoolean());
    }

    @Test
    void trackingIsDroppedWhenTheBitmapIsLostAndReArmedAfterwards() throws Exception {
        QemuHook hook = hook(context);
        try (Snapshot first = hook.take(vm.image, KEY)) {
            first.replicated("digest-1");
        }
        String bitmap = vm.bitmaps().get(0);
        // As after a VM restart: QEMU lost the (non-persistent) bitmap.
        vm.qmp().execute("block-dirty-bitmap-remove", QmpClient.args().put("node", QemuVm.NODE).put("name", bitmap));
        try (Snapshot second = hook.take(vm.image, KEY)) {
            assertTrue(second.tracking().describe().startsWith("full-scan:dirty bitmap " + bitmap + " is gone"),
                    second.tracking().describe());
            second.replicated("digest-1");
        }
        vm.guestWrite(3 << 20, 4096, 0x55);
        try (Snapshot third = hook.take(vm.image, KEY)) {
            assertTrue(third.tracking().changes().orElseThrow().touches(3 << 20, 4096));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qemu.recorded", "qemu.overlay-created", "qemu.overlay-added", "qemu.snapshot-taken",
            "qemu.changes-read"})
    void aFailureAtAnyStepReleasesWhatWasMade(String step) throws Exception {
        QemuHook tracked = hook(context);
        try (Snapshot armed = tracked.take(vm.image, KEY)) {
            armed.replicated("digest-1");
        }
        vm.guestWrite(5 << 20, 4096, 0x66);
        HookContext failing = context.withCheckpoints(s -> {
            if (s.equals(step)) {
                throw new SnapshotException("injected failure at " + s, false);
            }
        });
        SnapshotException e = assertThrows(SnapshotException.class, () -> hook(failing).take(vm.image, KEY));
        assertTrue(e.getMessage().contains("injected failure at " + step), e.getMessage());
        assertEquals(0, e.getSuppressed().length, "release succeeded");
        assertEquals(QemuVm.NODE, vm.deviceRoot());
        assertTrue(vm.nodeNames().stream().noneMatch(n -> n.startsWith(StaleSnapshots.PREFIX)), vm.nodeNames().toString());
        assertEquals(List.of(), context.registry().all());
        try (var files = Files.list(state.resolve("qemu"))) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".qcow2")));
        }
        // The failed cycle lost no change: the next one still sees the write from before it.
        try (Snapshot next = tracked.take(vm.image, KEY)) {
            assertTrue(next.tracking().changes().orElseThrow().touches(5 << 20, 4096), next.tracking().toString());
        }
    }

    @Test
    void aVmThatDiesDuringTheCycleKeepsItsWrites() throws Exception {
        Snapshot snapshot = hook(context).take(vm.image, KEY);
        vm.guestWrite(6 << 20, 65536, 0x77);
        vm.guestFlush();
        vm.kill();
        snapshot.close(); // the overlay is committed offline: the write the guest flushed is not lost
        assertTrue(TestImages.filledWith(vm.image, 6 << 20, 65536, 0x77));
        assertEquals(List.of(), context.registry().all());
        try (var files = Files.list(state.resolve("qemu"))) {
            assertTrue(files.noneMatch(f -> f.toString().endsWith(".qcow2")));
        }
    }

    @Test
    void anAgentKilledMidCycleIsCleanedUpAtTheNextStart() throws Exception {
        Process agent = dev.standin.snapshot.HookProcess.startAndWait(state,
                "qemu:" + vm.hookSocket + ":" + QemuVm.NODE, vm.image, "taken");
        agent.destroyForcibly().waitFor();
        assertTrue(vm.deviceRoot().startsWith(StaleSnapshots.PREFIX), "the dead agent left the VM on its overlay");
        vm.guestWrite(9 << 20, 65536, 0x99); // the guest keeps writing to the overlay meanwhile
        List<String> report = new dev.standin.snapshot.SnapshotHooks(context, Optional.empty()).releaseStale();
        assertTrue(report.get(0).startsWith("released stale qemu snapshot"), report.toString());
        assertEquals(QemuVm.NODE, vm.deviceRoot());
        assertTrue(vm.nodeNames().stream().noneMatch(n -> n.startsWith(StaleSnapshots.PREFIX)), vm.nodeNames().toString());
        assertTrue(TestImages.filledWith(vm.image, 9 << 20, 65536, 0x99), "the guest's write reached its image");
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void aHungVmIsNeitherWaitedForForeverNorTakenForDead() throws Exception {
        HookContext quick = context.withStepTimeout(Duration.ofSeconds(3));
        Snapshot snapshot = hook(quick).take(vm.image, KEY);
        vm.guestWrite(11 << 20, 65536, 0x3c);
        vm.signal("STOP");
        long started = System.nanoTime();
        SnapshotException e;
        try {
            e = assertThrows(SnapshotException.class, snapshot::close);
        } finally {
            vm.signal("CONT");
        }
        assertTrue((System.nanoTime() - started) / 1e9 < 30, "bounded by the step timeout");
        // QEMU still holds its image lock, so the overlay was not committed behind its back.
        assertTrue(e.getMessage().contains("record kept"), e.getMessage());
        assertEquals(1, context.registry().all().size());
        hook(context).releaseStale(context.registry().all().get(0));
        assertEquals(QemuVm.NODE, vm.deviceRoot());
        assertTrue(TestImages.filledWith(vm.image, 11 << 20, 65536, 0x3c), "the guest's write survived");
        assertEquals(List.of(), context.registry().all());
    }
}
