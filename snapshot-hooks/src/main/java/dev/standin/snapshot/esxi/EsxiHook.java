package dev.standin.snapshot.esxi;

import dev.standin.snapshot.HeldSnapshot;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.RemoteShell;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code esxi:HOST:VMID[:quiesce]}: a VM on an ESXi host, through {@code vim-cmd} over SSH.
 * <ol>
 *   <li>{@code vim-cmd vmsvc/snapshot.create VMID NAME DESCRIPTION 0 QUIESCE}: the VM's disk
 *       becomes a delta file and the disk under it stops changing (memory is not included;
 *       {@code quiesce} asks VMware Tools to flush the guest first).
 *   <li>{@code vim-cmd vmsvc/device.getdevices VMID}: the first virtual disk's parent backing is
 *       the frozen base; its {@code -flat.vmdk} is read with {@code cat} into a local staging file,
 *       which is the view (the SSH engine will read it in place instead).
 *   <li>{@code vim-cmd vmsvc/get.config VMID} names the VM's {@code .vmx}, read with {@code cat}:
 *       the VM's definition, carried with its VM point.
 *   <li>{@code vim-cmd vmsvc/snapshot.get VMID} finds the snapshot's id by its name, and
 *       {@code vim-cmd vmsvc/snapshot.remove VMID ID} consolidates it.
 * </ol>
 * Not tested against a real ESXi host (none is available here): the tests run it over a real
 * loopback sshd against a {@code vim-cmd} test double, which records calls and serves a real image.
 * The parsing follows the output formats of ESXi 6.7-8.0's vim-cmd.
 */
public final class EsxiHook implements SnapshotHook {

    public static final String KIND = "esxi";
    /** Where ESXi mounts datastores: {@code [ds] dir/file.vmdk} is {@code /vmfs/volumes/ds/dir/file.vmdk}. */
    public static final String VOLUMES = "/vmfs/volumes";

    private static final Pattern FILE_NAME = Pattern.compile("fileName = \"\\[([^\\]]+)\\] ([^\"]+)\"");
    private static final Pattern VMX = Pattern.compile("vmPathName = \"\\[([^\\]]+)\\] ([^\"]+\\.vmx)\"");
    /** Well above any real .vmx (a few KiB), well below the VM point record's 1 MiB. */
    private static final int MAX_VMX = 256 << 10;
    private static final Pattern SNAPSHOT = Pattern.compile("-+Snapshot Name\\s*:\\s*(\\S+)\\s*\\R-+Snapshot Id\\s*:\\s*(\\d+)");

    private final String host;
    private final String vmid;
    private final boolean quiesce;
    private final RemoteShell.Connector ssh;
    private final HookContext context;
    private final String volumes;

    public EsxiHook(String host, String vmid, boolean quiesce, RemoteShell.Connector ssh, HookContext context) {
        this(host, vmid, quiesce, ssh, context, VOLUMES);
    }

    /** {@code volumes}: the datastore mount root on the host; tests point it at the double's directory. */
    public EsxiHook(String host, String vmid, boolean quiesce, RemoteShell.Connector ssh, HookContext context,
            String volumes) {
        this.host = host;
        this.vmid = vmid;
        this.quiesce = quiesce;
        this.ssh = ssh;
        this.context = context;
        this.volumes = volumes;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public Snapshot take(Path source, String replicaKey) throws SnapshotException {
        String name = StaleSnapshots.newId();
        Path staging = context.stateDirectory().resolve("esxi").resolve(name + ".img");
        StaleSnapshots.Entry entry = null;
        RemoteShell shell = null;
        try {
            shell = ssh.connect(host);
            entry = context.registry().record(name, KIND, Map.of("host", host, "vmid", vmid, "staging", staging.toString(),
                    "volumes", volumes));
            context.checkpoints().reached("esxi.recorded");
            check(shell, List.of("vim-cmd", "vmsvc/snapshot.create", vmid, name, "standin replication cycle", "0",
                    quiesce ? "1" : "0"));
            context.checkpoints().reached("esxi.snapshot-created");
            String devices = check(shell, List.of("vim-cmd", "vmsvc/device.getdevices", vmid)).stdout();
            String base = baseDisk(devices);
            Files.createDirectories(staging.getParent());
            try (InputStream in = shell.open(List.of("cat", base));
                 OutputStream out = Files.newOutputStream(staging, StandardOpenOption.CREATE_NEW)) {
                in.transferTo(out);
            }
            context.checkpoints().reached("esxi.base-read");
            return new EsxiSnapshot(entry, staging, shell, vmx(shell));
        } catch (SnapshotException | IOException | RuntimeException e) {
            SnapshotException failure = e instanceof SnapshotException s ? s
                    : new SnapshotException("esxi snapshot of VM " + vmid + " on " + host + " failed: " + e.getMessage(),
                            false, e);
            if (entry != null) {
                try {
                    release(shell, entry);
                } catch (SnapshotException releaseFailure) {
                    failure.addSuppressed(releaseFailure);
                }
            }
            closeQuietly(shell);
            throw failure;
        }
    }

    /**
     * The frozen base disk's flat file: in device.getdevices, a snapshotted disk's backing names the
     * delta ({@code vm-000001.vmdk}) and its {@code parent} backing names the base ({@code vm.vmdk}),
     * whose data is in {@code vm-flat.vmdk}.
     */
    String baseDisk(String devices) throws SnapshotException {
        int parent = devices.indexOf("parent = (vim.vm.device.VirtualDisk");
        if (parent < 0) {
            throw new SnapshotException("vim-cmd device.getdevices shows no parent disk for VM " + vmid
                    + ": the snapshot did not take effect", false);
        }
        Matcher m = FILE_NAME.matcher(devices);
        if (!m.find(parent)) {
            throw new SnapshotException("cannot find the base disk's fileName in device.getdevices of VM " + vmid, false);
        }
        String file = m.group(2);
        if (!file.endsWith(".vmdk") || file.contains("..")) {
            throw new SnapshotException("unexpected base disk name '" + file + "'", false);
        }
        return volumes + "/" + m.group(1) + "/" + file.substring(0, file.length() - ".vmdk".length()) + "-flat.vmdk";
    }

    /**
     * The VM's {@code .vmx} as the host has it now (just after the snapshot): {@code vim-cmd
     * vmsvc/get.config} names it ({@code vmPathName = "[ds] dir/vm.vmx"}), {@code cat} reads it.
     */
    private String vmx(RemoteShell shell) throws IOException, SnapshotException {
        String layout = check(shell, List.of("vim-cmd", "vmsvc/get.config", vmid)).stdout();
        Matcher m = VMX.matcher(layout);
        if (!m.find() || m.group(2).contains("..")) {
            throw new SnapshotException("vim-cmd get.config of VM " + vmid + " names no .vmx file", false);
        }
        String text = check(shell, List.of("cat", volumes + "/" + m.group(1) + "/" + m.group(2))).stdout();
        if (text.length() > MAX_VMX) {
            throw new SnapshotException("the .vmx of VM " + vmid + " is " + text.length() + " characters; a .vmx is a "
                    + "few kilobytes", false);
        }
        return text;
    }

    /** The id vim-cmd gave the snapshot called {@code name}, if it exists. */
    static Optional<String> snapshotId(String listing, String name) {
        Matcher m = SNAPSHOT.matcher(listing);
        while (m.find()) {
            if (m.group(1).equals(name)) {
                return Optional.of(m.group(2));
            }
        }
        return Optional.empty();
    }

    private RemoteShell.Result check(RemoteShell shell, List<String> command) throws IOException {
        RemoteShell.Result result = shell.run(command, context.stepTimeout());
        if (!result.ok()) {
            throw new IOException("on " + host + ": " + result.describe());
        }
        return result;
    }

    /** Removes the snapshot if it exists (found by name, so a crash before create left nothing) and the staging copy. */
    void release(RemoteShell shell, StaleSnapshots.Entry entry) throws SnapshotException {
        try {
            String vm = entry.field("vmid");
            String listing = check(shell, List.of("vim-cmd", "vmsvc/snapshot.get", vm)).stdout();
            Optional<String> id = snapshotId(listing, entry.id());
            if (id.isPresent()) {
                check(shell, List.of("vim-cmd", "vmsvc/snapshot.remove", vm, id.get()));
            }
            Files.deleteIfExists(Path.of(entry.field("staging")));
            context.registry().remove(entry);
        } catch (IOException | RuntimeException e) {
            throw new SnapshotException("could not remove esxi snapshot " + entry.id() + " of VM " + entry.optionalField("vmid")
                    .orElse("?") + " (record kept): " + e.getMessage(), false, e);
        }
    }

    @Override
    public void releaseStale(StaleSnapshots.Entry entry) throws SnapshotException {
        RemoteShell shell = null;
        try {
            shell = ssh.connect(entry.field("host"));
            release(shell, entry);
        } catch (IOException e) {
            throw new SnapshotException("cannot reach " + entry.fields().get("host") + " to remove stale snapshot "
                    + entry.id() + ": " + e.getMessage(), false, e);
        } finally {
            closeQuietly(shell);
        }
    }

    private static void closeQuietly(RemoteShell shell) {
        if (shell != null) {
            try {
                shell.close();
            } catch (IOException e) {
                // the session is finished either way
            }
        }
    }

    private final class EsxiSnapshot extends HeldSnapshot {
        private final StaleSnapshots.Entry entry;
        private final RemoteShell shell;
        private final String vmx;

        EsxiSnapshot(StaleSnapshots.Entry entry, Path staging, RemoteShell shell, String vmx) {
            super(staging, Tracking.untracked("the esxi hook does not read changed block tracking (CBT) yet"));
            this.entry = entry;
            this.shell = shell;
            this.vmx = vmx;
        }

        @Override
        public Optional<String> definition() {
            return Optional.of(vmx);
        }

        @Override
        protected void release(String replicaDigest) throws SnapshotException {
            try {
                EsxiHook.this.release(shell, entry);
            } finally {
                closeQuietly(shell);
            }
        }
    }
}
