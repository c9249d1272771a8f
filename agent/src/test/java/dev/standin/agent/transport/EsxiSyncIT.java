package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.engine.CycleReport;
import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.failure.ExitStatus;
import dev.standin.snapshot.RemoteShell;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.qemu.QmpClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin sync --snapshot esxi:HOST:VMID} through the agent's own SSH transport
 * ({@link SshRemoteShell}) and a real OpenSSH sshd on 127.0.0.1, against the ESXi TEST DOUBLE of
 * the snapshot-hooks module ({@code vim-cmd} and {@code cat} scripts; no ESXi host is available):
 * the VM's base disk is replicated from its snapshot, the snapshot is removed, and a host with the
 * wrong key is refused before anything is made. Also the shell's own contract: quoting, a failing
 * command's stream, timeouts.
 */
@Tag("root")
class EsxiSyncIT {

    /** The ESXi VM's .vmx: its boot disk on a PVSCSI controller, a vmxnet3 card on port group "VM Network". */
    private static final String VMX = String.join("\n", "memSize = \"256\"", "numvcpus = \"1\"",
            "scsi0.present = \"TRUE\"", "scsi0.virtualDev = \"pvscsi\"", "scsi0:0.present = \"TRUE\"",
            "scsi0:0.fileName = \"vm1.vmdk\"", "ethernet0.present = \"TRUE\"", "ethernet0.virtualDev = \"vmxnet3\"",
            "ethernet0.networkName = \"VM Network\"", "ethernet0.addressType = \"generated\"",
            "ethernet0.generatedAddress = \"00:0c:29:5e:01:02\"", "");

    @TempDir
    Path dir;
    private Path esx;
    private Path disk;
    private OpenSshServer sshd;
    private Path sshConfig;

    @BeforeEach
    void esxHost() throws Exception {
        esx = Files.createDirectories(dir.resolve("esx"));
        Path bin = Files.createDirectories(esx.resolve("bin"));
        for (String tool : List.of("vim-cmd", "cat")) {
            try (InputStream in = EsxiSyncIT.class.getResourceAsStream("/esxi/" + tool)) {
                Files.copy(in, bin.resolve(tool));
            }
            Files.setPosixFilePermissions(bin.resolve(tool), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        disk = Images.create(Files.createDirectories(esx.resolve("volumes/datastore1/vm1")).resolve("vm1-flat.vmdk"),
                16 << 20, 5);
        Files.writeString(esx.resolve("volumes/datastore1/vm1/vm1.vmx"), VMX);
        sshd = OpenSshServer.start(dir.resolve("sshd"), null,
                List.of("PATH=" + bin + ":/usr/bin:/bin", "STANDIN_ESX_DOUBLE=" + esx));
        // How an operator names an ESX host: an entry in ~/.ssh/config.
        sshConfig = Files.writeString(dir.resolve("ssh_config"), "Host esx1\n  HostName 127.0.0.1\n  Port " + sshd.port()
                + "\n  User " + System.getProperty("user.name") + "\n");
    }

    @AfterEach
    void stop() throws Exception {
        if (sshd != null) {
            sshd.close();
        }
    }

    private Cli.Result sync(Path replica, Path knownHosts, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("sync", "vm1", replica.toString(), "--json",
                "--state-dir", dir.resolve("state").toString(), "--snapshot", "esxi:esx1:1",
                "-i", sshd.clientKey().toString(), "--known-hosts", knownHosts.toString(),
                "--ssh-config", sshConfig.toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    private long snapshotsOnHost() throws IOException {
        try (Stream<Path> files = Files.list(esx)) {
            return files.filter(f -> f.getFileName().toString().startsWith("snapshot-")).count();
        }
    }

    private long records() throws IOException {
        Path records = dir.resolve("state/snapshots");
        if (!Files.isDirectory(records)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(records)) {
            return files.count();
        }
    }

    @Test
    void theBaseDiskIsReplicatedFromItsSnapshotWhichIsThenRemoved() throws Exception {
        Path replica = dir.resolve("vm1.img");
        Cli.Result first = sync(replica, sshd.knownHosts());
        assertEquals(0, first.exit(), first.err());
        assertEquals(Images.sha256(disk), Images.sha256(replica));
        List<String> calls = Files.readAllLines(esx.resolve("calls.log")).stream().map(l -> l.split(" ")[0]).toList();
        assertEquals(List.of("vmsvc/snapshot.create", "vmsvc/device.getdevices", "vmsvc/get.config", "vmsvc/snapshot.get",
                "vmsvc/snapshot.remove"), calls);
        assertEquals(0, snapshotsOnHost());
        assertEquals(0, records());

        Images.overwriteBlocks(disk, 40, 4096, 6);
        Cli.Result second = sync(replica, sshd.knownHosts());
        assertEquals(0, second.exit(), second.err());
        assertEquals(Images.sha256(disk), Images.sha256(replica));
        assertTrue(second.json().get("literalBytes").asLong() <= 40 * 4096, second.out());
    }

    @Test
    void aHostWithTheWrongKeyIsRefusedBeforeAnythingIsMade() throws Exception {
        Path otherKey = dir.resolve("other_ed25519");
        Images.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey.toString());
        Path wrong = Files.writeString(dir.resolve("wrong_known_hosts"),
                "[127.0.0.1]:" + sshd.port() + " " + Files.readString(Path.of(otherKey + ".pub")));
        Path replica = dir.resolve("vm1.img");
        Cli.Result r = sync(replica, wrong);
        assertEquals(ExitStatus.SNAPSHOT.code(), r.exit(), r.err());
        assertTrue(r.err().contains("CHANGED"), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertTrue(Files.notExists(esx.resolve("calls.log")), "nothing ran on the host");
        assertTrue(Files.notExists(replica));
        assertEquals(0, records());
    }

    /**
     * A VM's cycle through the esxi hook records a VM point carrying the VM's .vmx as the host had it;
     * the replica host prints it on demand and starts the VM from it under QEMU, on the VMware
     * hardware its guest has drivers for (PVSCSI, vmxnet3 with its MAC): a test without network, a
     * real failover with its port group mapped to a bridge here (refused, by name, without).
     */
    @Test
    void theVmxTravelsWithTheVmPointAndStartsTheVmOnItsOwnHardware() throws Exception {
        Files.copy(Path.of("/var/cache/standin/test-image/agent.img"), disk, StandardCopyOption.REPLACE_EXISTING);
        SshOptions options = new SshOptions(Optional.of(sshd.clientKey()), sshd.knownHosts(), Optional.of(sshConfig),
                "standin", 10_000, 0, SshOptions.DEFAULT_IO_TIMEOUT);
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        CycleRequest.Disk vm1 = new CycleRequest.Disk(SyncOptions.builder(Path.of("vm1"), replicas.resolve("vm1.img"))
                .stateDirectory(dir.resolve("state")).build(), Optional.of(SnapshotSpec.parse("esxi:esx1:1")));
        CycleReport report = new Replication(Progress.NONE, line -> { }, Optional.of(SshRemoteShell.connector(options)))
                .run(new CycleRequest(List.of(vm1), Optional.empty(), false,
                        Optional.of(new CycleRequest.Vm("vm1", Optional.empty()))));
        assertEquals(Optional.of(VMX), report.vmPoint().orElseThrow(() -> new AssertionError(report.toString())).vmx());

        String root = replicas.toString();
        String state = dir.resolve("state").toString();
        Cli.Result printed = Cli.run("points", "vm1", "--definition", "1", "--root", root);
        assertEquals(0, printed.exit(), printed.err());
        assertEquals(VMX, printed.out());
        assertTrue(Cli.run("points", "vm1", "--root", root).out().contains("qemu (esxi .vmx)"));

        Cli.Result test = Cli.run("failover", "vm1", "--test", "--json", "--root", root, "--state-dir", state);
        assertEquals(0, test.exit(), test.err() + test.out());
        assertEquals("verified", test.json().get("verdict").asText(), test.out());
        assertTrue(test.err().contains("VM vm1 starts from its ESXi .vmx: 256 MiB, 1 CPU, bios, disks on scsi0:0 "
                + "(pvscsi), no network card"), test.err());

        Cli.Result unmapped = Cli.run("failover", "vm1", "--root", root, "--state-dir", state);
        assertEquals(ExitStatus.USAGE.code(), unmapped.exit(), unmapped.err());
        assertTrue(unmapped.err().contains("ethernet0 is on port group 'VM Network', which no bridge stands for here: "
                + "add --network 'VM Network=BRIDGE'; nothing was started"), unmapped.err());

        String bridge = "stnvx" + (ProcessHandle.current().pid() % 100_000);
        Images.run("ip", "link", "add", bridge, "type", "bridge");
        try {
            Cli.Result real = Cli.run("failover", "vm1", "--json", "--network", "VM Network=" + bridge, "--root", root,
                    "--state-dir", state);
            assertEquals(0, real.exit(), real.err() + real.out());
            assertEquals("verified", real.json().get("verdict").asText(), real.out());
            Path run = replicas.resolve(".standin-vms/vm1/failover");
            try (QmpClient qmp = QmpClient.connect(run.resolve("qmp.sock"), Duration.ofSeconds(10))) {
                String network = qmp.human("info network");
                assertTrue(network.contains("vmxnet3") && network.contains("macaddr=00:0c:29:5e:01:02"), network);
                String tree = qmp.human("info qtree");
                assertTrue(tree.contains("dev: pvscsi") && tree.contains("dev: scsi-hd"), "the disk is on PVSCSI");
            }
            Cli.Result cleanup = Cli.run("failover", "vm1", "--cleanup", "--discard", "--root", root);
            assertEquals(0, cleanup.exit(), cleanup.err());
        } finally {
            Images.run("ip", "link", "del", bridge);
        }
    }

    @Test
    void theShellQuotesArgumentsReportsFailuresAndTimesOut() throws Exception {
        SshOptions options = new SshOptions(Optional.of(sshd.clientKey()), sshd.knownHosts(), Optional.of(sshConfig),
                "standin", 10_000, 0, SshOptions.DEFAULT_IO_TIMEOUT);
        Path odd = Files.writeString(dir.resolve("a file with 'quotes' and $dollars"), "content\n");
        try (RemoteShell shell = SshRemoteShell.connector(options).connect("esx1")) {
            RemoteShell.Result echoed = shell.run(List.of("printf", "%s|", "two words", "it's", "$HOME"), Duration.ofSeconds(10));
            assertEquals("two words|it's|$HOME|", echoed.stdout());
            assertEquals(0, echoed.exit());

            try (InputStream in = shell.open(List.of("/bin/cat", odd.toString()))) {
                assertEquals("content\n", new String(in.readAllBytes()));
            }
            RemoteShell.Result failed = shell.run(List.of("/bin/cat", dir.resolve("missing").toString()), Duration.ofSeconds(10));
            assertEquals(1, failed.exit());
            assertTrue(failed.stderr().contains("No such file"), failed.stderr());
            try (InputStream in = shell.open(List.of("/bin/cat", dir.resolve("missing").toString()))) {
                IOException e = assertThrows(IOException.class, in::readAllBytes);
                assertTrue(e.getMessage().contains("exited with status 1"), e.getMessage());
            }
            IOException slow = assertThrows(IOException.class, () -> shell.run(List.of("sleep", "30"), Duration.ofSeconds(1)));
            assertTrue(slow.getMessage().contains("did not finish within 1 s"), slow.getMessage());
        }
    }
}
