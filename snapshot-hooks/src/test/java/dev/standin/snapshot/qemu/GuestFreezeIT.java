package dev.standin.snapshot.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.DeviceMapperGuest;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.StaleSnapshots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The qemu hook with the guest agent, against a real Linux guest (the test kernel booted on this
 * host's root filesystem) that runs {@code qemu-ga} and writes to an ext4 filesystem on the drive
 * without pause. A view taken without freezing holds a filesystem whose journal needs recovery,
 * as after a power cut; a view taken inside {@code guest-fsfreeze-freeze} holds a clean one
 * ({@code e2fsck -fn} passes), and the guest runs on, thawed, afterwards.
 */
@Tag("root")
class GuestFreezeIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static Path work;
    private static Path image;
    private static Path qmp;
    private static Path agentSocket;
    private static Process guest;
    private static final CommandRunner RUNNER = new CommandRunner();

    @BeforeAll
    static void bootGuest() throws Exception {
        assumeTrue(DeviceMapperGuest.kernelPrepared(), "no test kernel: run install/test-kernel.sh");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/qemu-ga")), "qemu-guest-agent is not installed (install/setup-debian.sh)");
        work = Files.createTempDirectory("standin-freeze");
        image = work.resolve("disk.raw");
        qmp = work.resolve("vm.qmp");
        agentSocket = work.resolve("qga.sock");
        check("truncate", "-s", "256M", image.toString());
        check("mkfs.ext4", "-q", "-F", image.toString());
        String script = String.join("\n",
                "set -e",
                "mount -t ext4 /dev/vda /mnt",
                "for p in /sys/class/virtio-ports/*; do",
                "  [ \"$(cat $p/name)\" = org.qemu.guest_agent.0 ] && port=/dev/$(basename $p)",
                "done",
                "qemu-ga --method=virtio-serial --path=$port --statedir=/run/tmp --pidfile=/run/tmp/qga.pid -d",
                "( i=0; while [ ! -e stop ]; do",
                "    dd if=/dev/urandom of=/mnt/f$((i % 4)) bs=64k count=8 conv=fsync 2>/dev/null",
                "    mkdir -p /mnt/d$((i % 16)) && touch /mnt/d$((i % 16))/t$i && rm -f /mnt/d$((i % 16))/t$((i - 1))",
                "    i=$((i + 1))",
                "  done; echo $i > writes ) &",
                "touch ready",
                "while [ ! -e stop ]; do sleep 1; done",
                "wait",
                "kill $(cat /run/tmp/qga.pid)",
                "umount /mnt",
                "");
        guest = DeviceMapperGuest.boot(work, script, List.of(
                "-qmp", "unix:" + qmp + ",server=on,wait=off",
                "-blockdev", "driver=file,filename=" + image + ",node-name=disk0-file",
                "-blockdev", "driver=raw,file=disk0-file,node-name=disk0",
                "-device", "virtio-blk-pci,drive=disk0,id=vd0",
                "-device", "virtio-serial-pci",
                "-chardev", "socket,path=" + agentSocket + ",server=on,wait=off,id=qga0",
                "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!Files.exists(work.resolve("ready"))) {
            if (!guest.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("the guest did not get ready: " + Files.readString(work.resolve("guest-console.log"))
                        + (Files.exists(work.resolve("guest.log")) ? Files.readString(work.resolve("guest.log")) : ""));
            }
            Thread.sleep(200);
        }
        Thread.sleep(1000); // the writer is under way
    }

    @AfterAll
    static void stopGuest() throws Exception {
        if (guest == null) {
            return;
        }
        Files.writeString(work.resolve("stop"), "");
        if (!guest.waitFor(120, TimeUnit.SECONDS)) {
            guest.destroyForcibly().waitFor();
        }
        check("rm", "-rf", work.toString());
    }

    private static CommandRunner.Result check(String... command) throws Exception {
        CommandRunner.Result result = RUNNER.run(List.of(command), TIMEOUT);
        assertTrue(result.ok(), result.describe());
        return result;
    }

    private HookContext context(String name) throws IOException {
        return HookContext.of(Files.createDirectories(work.resolve(name)), Optional.empty()).withStepTimeout(TIMEOUT);
    }

    private static boolean needsRecovery(Path view) throws Exception {
        return check("dumpe2fs", "-h", view.toString()).stdout().contains("needs_recovery");
    }

    private static String guestStatus() throws Exception {
        try (GuestAgent agent = GuestAgent.connect(agentSocket, TIMEOUT)) {
            return agent.status();
        }
    }

    @Test
    void aFrozenViewHoldsACleanFilesystemAndAnUnfrozenOneDoesNot() throws Exception {
        HookContext context = context("state");
        try (Snapshot crashConsistent = new QemuHook(qmp, List.of("disk0"), Optional.empty(), context)
                .take(image, "k1")) {
            assertTrue(needsRecovery(crashConsistent.view()),
                    "without a freeze the view is as after a power cut: the journal needs recovery");
        }
        try (Snapshot quiesced = new QemuHook(qmp, List.of("disk0"), Optional.of(agentSocket), context).take(image, "k1")) {
            assertFalse(needsRecovery(quiesced.view()), "frozen: the journal was flushed");
            Path copy = work.resolve("view.raw");
            Files.copy(quiesced.view(), copy);
            check("e2fsck", "-fn", copy.toString());
            Files.delete(copy);
            assertEquals("thawed", guestStatus(), "thawed as soon as the view was taken");
        }
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void aFailureWhileFrozenStillThawsTheGuest() throws Exception {
        HookContext failing = context("failing").withCheckpoints(step -> {
            if (step.equals("qemu.frozen")) {
                throw new SnapshotException("injected failure while frozen", false);
            }
        });
        SnapshotException e = assertThrows(SnapshotException.class,
                () -> new QemuHook(qmp, List.of("disk0"), Optional.of(agentSocket), failing).take(image, "k2"));
        assertTrue(e.getMessage().contains("injected failure while frozen"), e.getMessage());
        assertEquals("thawed", guestStatus());
        assertEquals(List.of(), failing.registry().all());
    }

    @Test
    void anAgentKilledWhileTheGuestIsFrozenIsThawedAtTheNextStart() throws Exception {
        HookContext context = context("crashed");
        // As if the agent died between freezing and thawing: the guest is frozen, the record says so.
        StaleSnapshots.Entry entry = context.registry().record(StaleSnapshots.newId(), QemuHook.KIND, java.util.Map.of(
                "socket", qmp.toString(), "node", "disk0", "image", image.toString(),
                "overlay", work.resolve("crashed").resolve("none.qcow2").toString(), "replicaKey", "k3",
                "newBitmap", "standin-k3-1", "oldBitmap", "", "guestAgent", agentSocket.toString()));
        try (GuestAgent agent = GuestAgent.connect(agentSocket, TIMEOUT)) {
            assertTrue(agent.freeze() > 0, "the guest's ext4 was frozen");
        }
        assertEquals("frozen", guestStatus());
        new QemuHook(null, List.of(), Optional.empty(), context).releaseStale(entry);
        assertEquals("thawed", guestStatus());
    }

    @Test
    void noAgentOnThePortFailsTheTakeInOneLineAndLeavesNothing() throws Exception {
        HookContext context = context("missing");
        SnapshotException e = assertThrows(SnapshotException.class,
                () -> new QemuHook(qmp, List.of("disk0"), Optional.of(work.resolve("nothing.sock")), context).take(image, "k4"));
        assertTrue(e.getMessage().startsWith("cannot freeze the guest's filesystems: guest agent at "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(List.of(), context.registry().all());
    }
}
