package dev.standin.snapshot.esxi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.StaleRecords;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Proves the esxi hook's call sequence, parsing and clean-up over a real loopback OpenSSH sshd,
 * against a {@code vim-cmd} TEST DOUBLE (no ESXi host is available): snapshot.create, reading the
 * base disk's flat file, snapshot.get + snapshot.remove, and that a failure at any step or a crash
 * leaves no standin snapshot on the "host".
 */
@Tag("root")
class EsxiHookIT {

    /** The start of a .vmx as ESXi 8 writes one. */
    static final String VMX = ".encoding = \"UTF-8\"\nconfig.version = \"8\"\nvirtualHW.version = \"20\"\n"
            + "memSize = \"2048\"\nnumvcpus = \"2\"\nfirmware = \"efi\"\nscsi0:0.fileName = \"vm1.vmdk\"\n"
            + "ethernet0.networkName = \"VM Network\"\nethernet0.addressType = \"generated\"\n";

    @org.junit.jupiter.api.io.TempDir
    Path directory;
    private Path esx;
    private Path image;
    private LoopbackSshd sshd;
    private HookContext context;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(LoopbackSshd.installed(), "OpenSSH server is not installed (install/setup-debian.sh installs it)");
        esx = Files.createDirectories(directory.resolve("esx"));
        Path bin = Files.createDirectories(esx.resolve("bin"));
        Path vimCmd = bin.resolve("vim-cmd");
        try (var in = getClass().getResourceAsStream("/esxi/vim-cmd")) {
            Files.copy(in, vimCmd);
        }
        Files.setPosixFilePermissions(vimCmd, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path disk = Files.createDirectories(esx.resolve("volumes/datastore1/vm1"));
        image = TestImages.random(disk.resolve("vm1-flat.vmdk"), 8 << 20, 9);
        Files.writeString(disk.resolve("vm1.vmx"), VMX);
        sshd = LoopbackSshd.start(Files.createDirectories(directory.resolve("sshd")),
                List.of("PATH=" + bin + ":/usr/bin:/bin", "STANDIN_ESX_DOUBLE=" + esx));
        context = HookContext.of(directory.resolve("state"), Optional.empty());
    }

    @AfterEach
    void tearDown() throws Exception {
        if (sshd != null) {
            sshd.close();
        }
    }

    private EsxiHook hook(HookContext c, boolean quiesce) {
        return new EsxiHook("127.0.0.1", "1", quiesce, JschRemoteShell.connector(sshd.port, sshd.clientKey, sshd.knownHosts),
                c, esx.resolve("volumes").toString());
    }

    private List<String> calls() throws Exception {
        return Files.readAllLines(esx.resolve("calls.log")).stream().map(l -> l.split(" ")[0]).toList();
    }

    private long snapshotsOnHost() throws Exception {
        try (var files = Files.list(esx)) {
            return files.filter(f -> f.getFileName().toString().startsWith("snapshot-")).count();
        }
    }

    @Test
    void snapshotReadBaseAndRemove() throws Exception {
        Path view;
        try (Snapshot snapshot = hook(context, true).take(Path.of("unused"), "k")) {
            view = snapshot.view();
            assertEquals(TestImages.sha256(image), TestImages.sha256(view), "the base disk's flat file was read");
            assertEquals(Optional.of(VMX), snapshot.definition(), "the VM's .vmx, read beside the snapshot");
            assertEquals(1, snapshotsOnHost());
            String create = Files.readAllLines(esx.resolve("calls.log")).get(0);
            assertTrue(create.matches("vmsvc/snapshot.create 1 " + StaleSnapshots.PREFIX + "\\S+ standin replication cycle 0 1"),
                    "named with the standin prefix, memory off, quiesce on: " + create);
        }
        assertEquals(List.of("vmsvc/snapshot.create", "vmsvc/device.getdevices", "vmsvc/get.config", "vmsvc/snapshot.get",
                "vmsvc/snapshot.remove"), calls());
        assertEquals(0, snapshotsOnHost());
        assertFalse(Files.exists(view));
        assertEquals(List.of(), context.registry().all());
    }

    @ParameterizedTest
    @ValueSource(strings = {"esxi.recorded", "esxi.snapshot-created", "esxi.base-read"})
    void aFailureAtAnyStepRemovesTheSnapshot(String step) throws Exception {
        HookContext failing = context.withCheckpoints(s -> {
            if (s.equals(step)) {
                throw new SnapshotException("injected failure at " + s, false);
            }
        });
        SnapshotException e = assertThrows(SnapshotException.class, () -> hook(failing, false).take(Path.of("x"), "k"));
        assertTrue(e.getMessage().contains("injected failure at " + step));
        assertEquals(0, e.getSuppressed().length);
        assertEquals(0, snapshotsOnHost());
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void aRefusedCreateIsReportedWithTheHostsMessage() throws Exception {
        // The double fails a subcommand when $d/fail-SUBCOMMAND exists; subcommands contain a slash.
        Files.createDirectories(esx.resolve("fail-vmsvc"));
        Files.createFile(esx.resolve("fail-vmsvc/snapshot.create"));
        SnapshotException e = assertThrows(SnapshotException.class, () -> hook(context, false).take(Path.of("x"), "k"));
        assertTrue(e.getMessage().contains("injected failure of vmsvc/snapshot.create"), e.getMessage());
        assertEquals(0, snapshotsOnHost());
        assertEquals(List.of(), context.registry().all());
    }

    @Test
    void aSnapshotLeftByACrashIsRemovedAtTheNextStart() throws Exception {
        Snapshot snapshot = hook(context, false).take(Path.of("x"), "k");
        StaleSnapshots.Entry entry = context.registry().all().get(0);
        // The agent dies: its record now names a dead process.
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        context.registry().remove(entry);
        Files.writeString(context.registry().directory().resolve(entry.id() + ".snapshot"),
                StaleRecords.format(new StaleSnapshots.Entry(entry.id(), entry.kind(), dead.pid(), 1, entry.fields())));
        assertEquals(1, snapshotsOnHost());
        hook(context, false).releaseStale(context.registry().stale().get(0));
        assertEquals(0, snapshotsOnHost());
        assertEquals(List.of(), context.registry().all());
        snapshot.view(); // the dead agent's object is never closed
    }
}
