package dev.standin.snapshot.lvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.HookProcess;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHooks;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Proves the lvm hook on a real volume group made on a loop device: a classic snapshot that is
 * frozen while the origin is written and removed afterwards, one that overflows (its LV fills) and
 * fails the cycle, thin snapshots whose thin_delta names exactly the changed chunks, a failure
 * injected at each step, and an agent killed while holding a snapshot. Needs device-mapper in the
 * kernel; where this host's kernel has none, {@link LvmInGuestIT} runs this class in a QEMU guest
 * whose kernel has it (so here every test is skipped, saying why).
 */
@Tag("root")
class LvmHookIT {

    private static final CommandRunner RUN = new CommandRunner();
    private static final List<String> NO_UDEV = List.of("--config", "activation{udev_sync=0 udev_rules=0}");

    @TempDir
    Path directory;
    private String vg;
    private String loop;
    private HookContext context;

    @BeforeEach
    void volumeGroup() throws Exception {
        CommandRunner.Result dm = RUN.run(List.of("dmsetup", "version"), Duration.ofSeconds(10));
        assumeTrue(dm.ok() && dm.stdout().contains("Driver version"),
                "device-mapper is not available in this kernel (dmsetup version: " + dm.stderr().strip()
                        + "), so LVM cannot activate logical volumes here");
        assumeTrue(RUN.run(List.of("which", "thin_delta"), Duration.ofSeconds(5)).ok(),
                "thin-provisioning-tools is not installed (install/setup-debian.sh)");
        Path file = directory.resolve("pv.img");
        try (var f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        loop = RUN.check(List.of("losetup", "-f", "--show", file.toString()), Duration.ofSeconds(30)).stdout().strip();
        vg = "standintest" + ProcessHandle.current().pid();
        lvm("vgcreate", vg, loop);
        context = HookContext.of(directory.resolve("state"), Optional.empty()).withStepTimeout(Duration.ofSeconds(60));
    }

    @AfterEach
    void removeVolumeGroup() throws Exception {
        if (vg != null && loop != null) {
            RUN.run(cmd("vgremove", "-f", vg), Duration.ofSeconds(60));
            RUN.run(List.of("losetup", "-d", loop), Duration.ofSeconds(30));
        }
    }

    private static List<String> cmd(String tool, String... args) {
        List<String> command = new ArrayList<>(List.of(tool));
        command.addAll(NO_UDEV);
        command.addAll(List.of(args));
        return command;
    }

    private void lvm(String tool, String... args) throws Exception {
        RUN.check(cmd(tool, args), Duration.ofSeconds(60));
    }

    private static void fill(Path device, long offset, int length, int value) throws Exception {
        RUN.check(List.of("dd", "if=/dev/zero", "of=" + device, "bs=" + length, "count=1", "seek=" + offset / length,
                "conv=notrunc,fsync", "status=none"), Duration.ofSeconds(60));
        if (value != 0) {
            throw new IllegalArgumentException("only zero fills are used");
        }
    }

    private List<String> lvNames() throws Exception {
        return List.of(RUN.check(List.of("lvs", "--noheadings", "-o", "lv_name", vg), Duration.ofSeconds(30)).stdout()
                .strip().split("\\s+"));
    }

    @Test
    void classicSnapshotIsFrozenAndRemoved() throws Exception {
        lvm("lvcreate", "-y", "-n", "disk", "-L", "64m", vg);
        Path origin = Path.of("/dev", vg, "disk");
        RUN.check(List.of("dd", "if=/dev/urandom", "of=" + origin, "bs=1M", "count=64", "status=none"), Duration.ofSeconds(60));
        String before = TestImages.sha256(origin);
        try (Snapshot snapshot = new LvmHook(vg + "/disk", null, context).take(origin, "k")) {
            assertTrue(snapshot.view().getFileName().toString().startsWith(StaleSnapshots.PREFIX));
            fill(origin, 1 << 20, 1 << 20, 0);
            assertEquals(before, TestImages.sha256(snapshot.view()));
        }
        assertEquals(List.of("disk"), lvNames());
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void anOverflowingSnapshotFailsTheCycle() throws Exception {
        lvm("lvcreate", "-y", "-n", "disk", "-L", "64m", vg);
        Path origin = Path.of("/dev", vg, "disk");
        Snapshot snapshot = new LvmHook(vg + "/disk", "4M", context).take(origin, "k");
        RUN.check(List.of("dd", "if=/dev/urandom", "of=" + origin, "bs=1M", "count=16", "conv=fsync", "status=none"),
                Duration.ofSeconds(60));
        SnapshotException e = assertThrows(SnapshotException.class, snapshot::close);
        assertTrue(e.getMessage().contains("overflowed"), e.getMessage());
        assertEquals(List.of("disk"), lvNames());
        assertEquals(List.of(), context.registry().all());
    }

    @ParameterizedTest
    @CsvSource({"lvm.recorded,false", "lvm.created,false", "lvm.recorded,true", "lvm.created,true"})
    void aFailureAtAnyStepLeavesNoSnapshot(String failAt, boolean thin) throws Exception {
        Path origin = volume(thin);
        HookContext failing = context.withCheckpoints(step -> {
            if (step.equals(failAt)) {
                throw new SnapshotException("injected failure at " + step, false);
            }
        });
        SnapshotException e = assertThrows(SnapshotException.class,
                () -> new LvmHook(vg + "/disk", null, failing).take(origin, "k"));
        assertTrue(e.getMessage().contains("injected failure at " + failAt), e.getMessage());
        assertEquals(0, e.getSuppressed().length, "released cleanly: " + java.util.Arrays.toString(e.getSuppressed()));
        assertTrue(lvNames().stream().noneMatch(n -> n.startsWith(StaleSnapshots.PREFIX)), "left " + lvNames());
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void anAgentKilledHoldingASnapshotHasItRemovedAtTheNextStart() throws Exception {
        Path origin = volume(false);
        Path state = directory.resolve("state");
        Process agent = HookProcess.startAndWait(state, "lvm:" + vg + "/disk", origin, "taken");
        agent.destroyForcibly().waitFor();
        assertEquals(1, lvNames().stream().filter(n -> n.startsWith(StaleSnapshots.PREFIX)).count(), "the dead agent's");
        List<String> report = new SnapshotHooks(context, Optional.empty()).releaseStale();
        assertTrue(report.get(0).startsWith("released stale lvm snapshot"), report.toString());
        assertEquals(List.of("disk"), lvNames());
        assertEquals(List.of(), context.registry().all());
    }

    /** VG/disk: 64 MiB of random data, a classic LV or a thin LV in a pool. */
    private Path volume(boolean thin) throws Exception {
        if (thin) {
            lvm("lvcreate", "-y", "--type", "thin-pool", "-n", "pool", "-L", "128m", vg);
            lvm("lvcreate", "-y", "-n", "disk", "-V", "64m", "--thinpool", "pool", vg);
        } else {
            lvm("lvcreate", "-y", "-n", "disk", "-L", "64m", vg);
        }
        Path origin = Path.of("/dev", vg, "disk");
        RUN.check(List.of("dd", "if=/dev/urandom", "of=" + origin, "bs=1M", "count=64", "status=none"), Duration.ofSeconds(60));
        return origin;
    }

    @Test
    void thinDeltaNamesTheChangedChunks() throws Exception {
        lvm("lvcreate", "-y", "--type", "thin-pool", "-n", "pool", "-L", "256m", vg);
        lvm("lvcreate", "-y", "-n", "disk", "-V", "128m", "--thinpool", "pool", vg);
        Path origin = Path.of("/dev", vg, "disk");
        RUN.check(List.of("dd", "if=/dev/urandom", "of=" + origin, "bs=1M", "count=128", "status=none"), Duration.ofSeconds(60));
        LvmHook hook = new LvmHook(vg + "/disk", null, context);
        try (Snapshot first = hook.take(origin, "k")) {
            assertFalse(first.tracking().changes().isPresent());
            first.replicated("d1");
        }
        fill(origin, 32 << 20, 1 << 20, 0);
        try (Snapshot second = hook.take(origin, "k")) {
            var changes = second.tracking().changes().orElseThrow();
            assertEquals("thin-delta", second.tracking().method());
            assertEquals("d1", second.tracking().replicaDigest());
            assertTrue(changes.touches(32 << 20, 1 << 20));
            assertFalse(changes.touches(0, 31 << 20));
            second.replicated("d2");
        }
        assertEquals(List.of(), context.registry().all());
        assertEquals(1, lvNames().stream().filter(n -> n.startsWith(StaleSnapshots.PREFIX)).count(),
                "only the snapshot the replica holds is kept");
        assertTrue(Files.exists(origin));
    }
}
