package dev.standin.snapshot.lvm;

import dev.standin.snapshot.HeldSnapshot;
import dev.standin.snapshot.ChangedExtents;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.HookContext;
import dev.standin.snapshot.Snapshot;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.SnapshotHook;
import dev.standin.snapshot.StaleSnapshots;
import dev.standin.snapshot.Tracking;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code lvm:VG/LV[:SIZE]}: an LVM snapshot of a logical volume.
 * <ul>
 *   <li>A classic LV gets a copy-on-write snapshot ({@code lvcreate -s -L}), sized SIZE bytes or by
 *       default a tenth of the origin, at least 256 MiB, at most the VG's free space. If the guest
 *       writes more than that during the cycle the snapshot overflows and is invalid; the hook then
 *       fails the cycle at close instead of passing off a torn view. Removed afterwards.
 *   <li>A thin LV gets a thin snapshot (no size; activated with {@code -K}). The snapshot of the
 *       last replicated cycle is kept, and {@code thin_delta} between it and the new one (on a
 *       reserved metadata snapshot of the pool) names the changed extents, so the next cycle reads
 *       only those. When the kept snapshot is missing, the cycle scans and keeps the new one.
 * </ul>
 * Needs device-mapper in the kernel; without it lvcreate cannot activate anything.
 */
public final class LvmHook implements SnapshotHook {

    public static final String KIND = "lvm";
    private static final long MIN_COW = 256L << 20;
    private static final Pattern DELTA = Pattern.compile("<(different|left_only|right_only) begin=\"(\\d+)\" length=\"(\\d+)\"");
    private static final Pattern BLOCK_SIZE = Pattern.compile("data_block_size=\"(\\d+)\"");

    private final String vg;
    private final String lv;
    private final String size;
    private final HookContext context;

    public LvmHook(String volume, String size, HookContext context) {
        if (volume != null && !volume.matches("[A-Za-z0-9+_.-]+/[A-Za-z0-9+_.-]+")) {
            throw new IllegalArgumentException("lvm volume '" + volume + "' must be VG/LV");
        }
        this.vg = volume == null ? null : volume.substring(0, volume.indexOf('/'));
        this.lv = volume == null ? null : volume.substring(volume.indexOf('/') + 1);
        this.size = size;
        this.context = context;
    }

    @Override
    public String kind() {
        return KIND;
    }

    /** Runs an LVM tool; without udev (containers, test VMs) LVM must make its own device nodes. */
    private CommandRunner.Result lvm(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(args[0]));
        if (!Files.exists(Path.of("/run/udev/control"))) {
            command.addAll(List.of("--config", "activation{udev_sync=0 udev_rules=0}"));
        }
        command.addAll(List.of(args).subList(1, args.length));
        return context.runner().check(command, context.stepTimeout());
    }

    @Override
    public Snapshot take(Path source, String replicaKey) throws SnapshotException {
        String name = StaleSnapshots.newId();
        StaleSnapshots.Entry entry = null;
        try {
            String[] info = lvm("lvs", "--noheadings", "--nosuffix", "--units", "b", "--separator", "|",
                    "-o", "lv_attr,lv_size,pool_lv,thin_id", vg + "/" + lv).stdout().strip().split("\\|", -1);
            boolean thin = info[0].startsWith("V");
            long originSize = Long.parseLong(info[1].strip());
            entry = context.registry().record(name, KIND, Map.of("vg", vg, "lv", lv, "snapshot", name,
                    "thin", Boolean.toString(thin), "replicaKey", replicaKey));
            context.checkpoints().reached("lvm.recorded");
            if (thin) {
                lvm("lvcreate", "-s", "-n", name, vg + "/" + lv);
                lvm("lvchange", "-ay", "-K", vg + "/" + name);
            } else {
                lvm("lvcreate", "-s", "-n", name, "-L", cowSize(originSize) + "b", vg + "/" + lv);
            }
            context.checkpoints().reached("lvm.created");
            Tracking tracking = thin ? thinDelta(info[2].strip(), replicaKey, name, originSize)
                    : Tracking.untracked("classic LVM snapshots do not track changes");
            return new LvmSnapshot(entry, Path.of("/dev", vg, name), tracking, thin);
        } catch (SnapshotException | IOException | InterruptedException | RuntimeException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            SnapshotException failure = e instanceof SnapshotException s ? s
                    : new SnapshotException("lvm snapshot of " + vg + "/" + lv + " failed: " + e.getMessage(), false, e);
            if (entry != null) {
                try {
                    remove(entry);
                } catch (SnapshotException releaseFailure) {
                    failure.addSuppressed(releaseFailure);
                }
            }
            throw failure;
        }
    }

    private long cowSize(long originSize) throws IOException, InterruptedException, SnapshotException {
        long free = Long.parseLong(lvm("vgs", "--noheadings", "--nosuffix", "--units", "b", "-o", "vg_free", vg)
                .stdout().strip());
        long wanted = size != null ? parseSize(size) : Math.max(MIN_COW, originSize / 10);
        long extent = 4L << 20;
        wanted = Math.min(wanted, free) / extent * extent;
        if (wanted < extent) {
            throw new SnapshotException("volume group " + vg + " has " + free + " bytes free, too little for a snapshot of "
                    + vg + "/" + lv, false);
        }
        return wanted;
    }

    private static long parseSize(String text) {
        Matcher m = Pattern.compile("(\\d+)([KMGT]?)").matcher(text.toUpperCase(java.util.Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("snapshot size '" + text + "' must be a number with K, M, G or T");
        }
        int shift = switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        return Long.parseLong(m.group(1)) << shift;
    }

    /**
     * The extents that differ between the kept snapshot of the last replicated cycle and the new
     * one, from the pool's metadata: a metadata snapshot is reserved so thin_delta reads a
     * consistent tree while the pool stays live, and always released.
     */
    private Tracking thinDelta(String pool, String replicaKey, String newSnapshot, long originSize)
            throws IOException, InterruptedException {
        String kept = readKept(replicaKey);
        if (kept == null) {
            return Tracking.untracked("no kept thin snapshot for this destination yet");
        }
        CommandRunner.Result ids;
        try {
            ids = lvm("lvs", "--noheadings", "-o", "thin_id", vg + "/" + kept, vg + "/" + newSnapshot);
        } catch (IOException e) {
            return Tracking.untracked("kept thin snapshot " + vg + "/" + kept + " is gone");
        }
        String[] thinIds = ids.stdout().strip().split("\\s+");
        String poolDevice = "/dev/mapper/" + dmName(vg) + "-" + dmName(pool) + "-tpool";
        String metadata = "/dev/mapper/" + dmName(vg) + "-" + dmName(pool) + "_tmeta";
        context.runner().check(List.of("dmsetup", "message", poolDevice, "0", "reserve_metadata_snap"), context.stepTimeout());
        try {
            String xml = context.runner().check(List.of("thin_delta", "-m", "--snap1", thinIds[0], "--snap2", thinIds[1],
                    metadata), context.stepTimeout()).stdout();
            Matcher bs = BLOCK_SIZE.matcher(xml);
            if (!bs.find()) {
                return Tracking.untracked("thin_delta printed no data block size");
            }
            long blockBytes = Long.parseLong(bs.group(1)) * 512;
            ChangedExtents.Builder changes = ChangedExtents.builder(originSize);
            Matcher m = DELTA.matcher(xml);
            while (m.find()) {
                long begin = Long.parseLong(m.group(2)) * blockBytes;
                long length = Math.min(Long.parseLong(m.group(3)) * blockBytes, originSize - begin);
                changes.add(begin, length);
            }
            return Tracking.tracked("thin-delta", changes.build(), readKeptRecord(replicaKey).getProperty("replicaDigest", ""));
        } finally {
            context.runner().run(List.of("dmsetup", "message", poolDevice, "0", "release_metadata_snap"),
                    context.stepTimeout());
        }
    }

    /** Device-mapper doubles every dash inside a VG or LV name. */
    private static String dmName(String name) {
        return name.replace("-", "--");
    }

    private Path keptFile(String replicaKey) {
        return context.stateDirectory().resolve("lvm").resolve("kept-" + replicaKey + ".properties");
    }

    private String readKept(String replicaKey) throws IOException {
        Properties p = readKeptRecord(replicaKey);
        return p == null ? null : p.getProperty("snapshot");
    }

    private Properties readKeptRecord(String replicaKey) throws IOException {
        Path file = keptFile(replicaKey);
        if (!Files.exists(file)) {
            return null;
        }
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(file)));
        return vg.equals(p.getProperty("vg")) && lv.equals(p.getProperty("lv")) ? p : null;
    }

    private void writeKept(String replicaKey, String snapshot, String replicaDigest) throws IOException {
        Properties p = new Properties();
        p.setProperty("vg", vg);
        p.setProperty("lv", lv);
        p.setProperty("snapshot", snapshot);
        p.setProperty("replicaDigest", replicaDigest);
        StringWriter text = new StringWriter();
        p.store(text, "the thin snapshot this destination's replica holds; the base of the next thin_delta");
        Files.createDirectories(keptFile(replicaKey).getParent());
        Path temporary = keptFile(replicaKey).resolveSibling("kept-" + replicaKey + ".tmp");
        Files.writeString(temporary, text.toString());
        Files.move(temporary, keptFile(replicaKey), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private void remove(StaleSnapshots.Entry entry) throws SnapshotException {
        try {
            String target = entry.field("vg") + "/" + entry.field("snapshot");
            CommandRunner.Result exists = context.runner().run(List.of("lvs", target), context.stepTimeout());
            if (exists.ok()) {
                lvm("lvremove", "-f", target);
            }
            context.registry().remove(entry);
        } catch (IOException e) {
            throw new SnapshotException("could not remove LVM snapshot " + entry.id() + " (record kept): " + e.getMessage(),
                    false, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SnapshotException("interrupted removing LVM snapshot " + entry.id(), false, e);
        }
    }

    @Override
    public void releaseStale(StaleSnapshots.Entry entry) throws SnapshotException {
        remove(entry);
    }

    private final class LvmSnapshot extends HeldSnapshot {
        private final StaleSnapshots.Entry entry;
        private final boolean thin;

        LvmSnapshot(StaleSnapshots.Entry entry, Path view, Tracking tracking, boolean thin) {
            super(view, tracking);
            this.entry = entry;
            this.thin = thin;
        }

        @Override
        protected void release(String replicaDigest) throws SnapshotException {
            try {
                String target = vg + "/" + entry.field("snapshot");
                if (!thin) {
                    String attr = lvm("lvs", "--noheadings", "-o", "lv_attr", target).stdout().strip();
                    if (attr.length() > 4 && attr.charAt(4) == 'I') {
                        remove(entry);
                        throw new SnapshotException("LVM snapshot " + target + " overflowed during the cycle (the origin "
                                + "changed more than its copy-on-write space); what was read is not a point-in-time view. "
                                + "Give a larger size: --snapshot lvm:" + vg + "/" + lv + ":SIZE", false);
                    }
                } else if (replicaDigest != null) {
                    // Keep this one as the base of the next delta; drop the previous base.
                    String previous = readKept(entry.field("replicaKey"));
                    writeKept(entry.field("replicaKey"), entry.field("snapshot"), replicaDigest);
                    context.registry().remove(entry);
                    if (previous != null) {
                        context.runner().run(List.of("lvremove", "-f", vg + "/" + previous), context.stepTimeout());
                    }
                    return;
                }
                remove(entry);
            } catch (IOException e) {
                throw new SnapshotException("could not release LVM snapshot " + entry.id() + ": " + e.getMessage(), false, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SnapshotException("interrupted releasing LVM snapshot " + entry.id(), false, e);
            }
        }
    }
}
