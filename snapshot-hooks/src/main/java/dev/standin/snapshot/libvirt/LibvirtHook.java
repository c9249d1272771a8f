package dev.standin.snapshot.libvirt;

import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.SharedTake;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.SnapshotSpec;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import dev.standin.snapshot.nbd.NbdExport;
import dev.standin.snapshot.nbd.QemuNbdServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code libvirt:DOMAIN[:URI]}: a view of every disk of a libvirt domain at one instant, each served
 * over NBD under its target's name, so raw and qcow2 disks are read alike.
 *
 * <ul>
 *   <li>Running (or paused): one pull-mode backup job ({@code virsh backup-begin}) of the cycle's
 *       disks. QEMU copies each block the guest overwrites to a scratch file first, so the export
 *       stays the instant the job began while the VM writes on; ending the job
 *       ({@code virsh domjobabort}) drops the scratch and leaves the disks untouched.
 *   <li>Shut off: {@code qemu-nbd --read-only} per disk; its image lock keeps the domain from
 *       starting while the disks are read (a start fails with libvirt's lock message).
 * </ul>
 *
 * The socket and scratch files live in a directory of their own under {@link #RUNTIME} given to
 * the user QEMU runs as (its DAC label): QEMU creates them, not standin. Change tracking through
 * libvirt checkpoints is not used: each cycle reads the whole disk and sends what differs.
 */
public final class LibvirtHook implements SnapshotHook {

    public static final String KIND = "libvirt";
    /** Beside libvirt's own sockets, and shared with libvirtd's view of the filesystem (not a private /tmp). */
    public static final Path RUNTIME = Path.of("/run/standin/libvirt");

    private final String domain;
    private final Libvirt libvirt;
    private final HookContext context;

    public LibvirtHook(String domain, String uri, HookContext context) {
        this.domain = domain;
        this.libvirt = new Libvirt(uri, context.runner(), context.stepTimeout());
        this.context = context;
    }

    /** The {@code --snapshot} spec that views {@code domain}'s disks at {@code uri} (the default URI left out). */
    public static SnapshotSpec spec(String domain, String uri) {
        return SnapshotSpec.parse(KIND + ":" + domain + (uri.equals(Libvirt.DEFAULT_URI) ? "" : ":" + uri));
    }

    @Override
    public String kind() {
        return KIND;
    }

    /** As many as the cycle has: the domain's disks are matched to SOURCEs by their image paths. */
    @Override
    public int disks() {
        return ANY;
    }

    @Override
    public Snapshot take(Path source, String replicaKey) throws SnapshotException {
        return takeAll(List.of(source), List.of(replicaKey)).get(0);
    }

    @Override
    public List<Snapshot> takeAll(List<Path> sources, List<String> replicaKeys) throws SnapshotException {
        String state;
        DomainXml live;
        try {
            state = libvirt.state(domain);
            live = DomainXml.parse(libvirt.run("dumpxml", domain));
        } catch (SnapshotException e) {
            boolean gone = e.getMessage().contains("failed to get domain");
            throw new SnapshotException((gone ? "domain " + domain + " is gone: " : "") + e.getMessage(), gone, e);
        } catch (IllegalArgumentException e) {
            throw new SnapshotException("domain " + domain + "'s live definition is " + e.getMessage(), false, e);
        }
        boolean running = switch (state) {
            case "running", "paused", "pmsuspended" -> true;
            case "shut off", "crashed" -> false;
            default -> throw new SnapshotException("domain " + domain + " is " + state + "; its disks are read while it "
                    + "runs or once it is shut off", false);
        };
        List<DomainXml.Disk> disks = match(live, sources);
        String id = StaleSnapshots.newId();
        Path directory = RUNTIME.resolve(id);
        StaleSnapshots.Entry entry;
        try {
            entry = context.registry().record(id, KIND, Map.of("domain", domain, "uri", libvirt.uri(),
                    "directory", directory.toString(), "mode", running ? "backup" : "offline"));
        } catch (IOException e) {
            throw new SnapshotException("cannot record the libvirt snapshot of " + domain + ": " + e.getMessage(), false, e);
        }
        try {
            context.checkpoints().reached("libvirt.recorded");
            createDirectory(directory, running ? live.dacLabel() : Optional.empty());
            Path socket = directory.resolve("nbd.sock");
            List<NbdExport> exports = new ArrayList<>();
            if (running) {
                Path xml = directory.resolve("backup.xml");
                Files.writeString(xml, backupXml(live, disks, socket, directory));
                libvirt.run("backup-begin", domain, xml.toString());
                context.checkpoints().reached("libvirt.backup-begun");
                disks.forEach(d -> exports.add(new NbdExport(socket, d.target())));
            } else {
                for (DomainXml.Disk disk : disks) {
                    exports.add(QemuNbdServer.serve(context.runner(), context.stepTimeout(), directory,
                            disk.target(), Path.of(disk.source().orElseThrow()), disk.format()));
                    context.checkpoints().reached("libvirt.served");
                }
            }
            SharedTake take = new SharedTake(disks.size(), () -> release(entry));
            String reason = running ? "libvirt backups read the whole disk (no checkpoints)"
                    : "domain " + domain + " is shut off";
            List<Snapshot> snapshots = new ArrayList<>();
            for (int i = 0; i < disks.size(); i++) {
                snapshots.add(take.view(sources.get(i), exports.get(i), Tracking.untracked(reason)));
            }
            return snapshots;
        } catch (SnapshotException | IOException | InterruptedException | RuntimeException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            SnapshotException failure = e instanceof SnapshotException s ? s : new SnapshotException("libvirt snapshot of "
                    + domain + " failed: " + e.getMessage(), false, e);
            try {
                release(entry);
            } catch (SnapshotException releaseFailure) {
                failure.addSuppressed(releaseFailure);
            }
            throw failure;
        }
    }

    /** The domain's disk behind each SOURCE, in SOURCE order; a SOURCE that is none of them is refused. */
    private List<DomainXml.Disk> match(DomainXml live, List<Path> sources) throws SnapshotException {
        List<DomainXml.Disk> all = live.disks();
        List<DomainXml.Disk> matched = new ArrayList<>();
        for (Path source : sources) {
            Optional<DomainXml.Disk> disk = all.stream().filter(d -> d.source().isPresent()
                    && sameFile(Path.of(d.source().get()), source)).findFirst();
            if (disk.isEmpty()) {
                throw new SnapshotException(source + " is not a disk of domain " + domain + " (its disks: " + all.stream()
                        .map(d -> d.target() + "=" + d.source().orElse("(" + d.type() + ")")).reduce((a, b) -> a + ", " + b)
                        .orElse("none") + ")", true);
            }
            if (matched.contains(disk.get())) {
                throw new SnapshotException(source + " is named twice for domain " + domain, true);
            }
            matched.add(disk.get());
        }
        return matched;
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
        }
    }

    /** The pull-mode backup of {@code disks}; every other disk of the domain is left out. */
    static String backupXml(DomainXml live, List<DomainXml.Disk> disks, Path socket, Path directory) {
        StringBuilder xml = new StringBuilder("<domainbackup mode='pull'>\n  <server transport='unix' socket='")
                .append(escape(socket.toString())).append("'/>\n  <disks>\n");
        for (DomainXml.Disk disk : live.disks()) {
            if (disk.target().isEmpty()) {
                continue;
            }
            if (disks.contains(disk)) {
                xml.append("    <disk name='").append(escape(disk.target())).append("' backup='yes' type='file'>")
                        .append("<scratch file='").append(escape(directory.resolve(disk.target() + ".scratch").toString()))
                        .append("'/></disk>\n");
            } else {
                xml.append("    <disk name='").append(escape(disk.target())).append("' backup='no'/>\n");
            }
        }
        return xml.append("  </disks>\n</domainbackup>\n").toString();
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /**
     * The take's own directory, owned by QEMU's user where it runs as one; {@link #RUNTIME} and its
     * parent are made searchable (0711) on the way, so that user reaches it without listing them.
     */
    private void createDirectory(Path directory, Optional<String> owner) throws IOException {
        Files.createDirectories(RUNTIME);
        for (Path p : List.of(RUNTIME.getParent(), RUNTIME)) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx--x--x"));
        }
        Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        if (owner.isPresent()) {
            // A DAC label is "+UID:+GID" (numbers) or "USER:GROUP" (names, looked up through NSS).
            String[] ids = owner.get().split(":", 2);
            var lookup = directory.getFileSystem().getUserPrincipalLookupService();
            var view = Files.getFileAttributeView(directory, PosixFileAttributeView.class);
            if (ids[0].startsWith("+")) {
                Files.setAttribute(directory, "unix:uid", Integer.parseInt(ids[0].substring(1)));
            } else {
                view.setOwner(lookup.lookupPrincipalByName(ids[0]));
            }
            if (ids[1].startsWith("+")) {
                Files.setAttribute(directory, "unix:gid", Integer.parseInt(ids[1].substring(1)));
            } else {
                view.setGroup(lookup.lookupPrincipalByGroupName(ids[1]));
            }
        }
    }

    /** Ends the backup job (only the one serving this record's socket) or the qemu-nbd processes, then the files. */
    private void release(StaleSnapshots.Entry entry) throws SnapshotException {
        Path directory = Path.of(entry.field("directory"));
        Libvirt at = new Libvirt(entry.field("uri"), context.runner(), context.stepTimeout());
        String name = entry.field("domain");
        if (entry.field("mode").equals("backup")) {
            String job;
            try {
                job = at.run("backup-dumpxml", name);
            } catch (SnapshotException noJob) {
                job = ""; // no backup job, or no domain: nothing of ours runs
            }
            if (job.contains(directory.resolve("nbd.sock").toString())) {
                at.run("domjobabort", name);
            }
        } else {
            QemuNbdServer.stopAll(directory);
        }
        try {
            QemuNbdServer.remove(directory);
            context.registry().remove(entry);
        } catch (IOException e) {
            throw new SnapshotException("cannot remove " + directory + ": " + e.getMessage(), false, e);
        }
    }

    @Override
    public void releaseStale(StaleSnapshots.Entry entry) throws SnapshotException {
        release(entry);
    }
}
