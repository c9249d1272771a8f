package dev.standin.agent.vm;

import dev.standin.agent.replica.Durability;
import dev.standin.agent.replica.Point;
import dev.standin.agent.replica.PointStore;
import dev.standin.agent.replica.SideFiles;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The VM points of one VM whose replicas are in one directory: {@code DIR/.standin-vms/NAME/}
 * holds {@code point-ID}, one record each (docs/vm-points-format.md). A record is written whole
 * (a temporary file, fsync, rename) or not at all, so a reader sees every VM point complete.
 */
public final class VmPoints {

    /** The directory beside the replicas that holds every VM's points. */
    public static final String DIRECTORY = ".standin-vms";
    private static final Pattern FILE = Pattern.compile("point-([1-9][0-9]{0,17})");

    private final Path replicas;
    private final String vm;

    public VmPoints(Path replicas, String vm) {
        if (!VmPoint.validName(vm)) {
            throw new IllegalArgumentException("VM name '" + vm + "'");
        }
        this.replicas = replicas;
        this.vm = vm;
    }

    /** Where the VM's replicas are. */
    public Path replicas() {
        return replicas;
    }

    public String vm() {
        return vm;
    }

    public Path directory() {
        return replicas.resolve(DIRECTORY).resolve(vm);
    }

    /** Every recorded VM point, oldest first; a damaged record is an error, never skipped. */
    public List<VmPoint> list() throws IOException {
        if (!Files.isDirectory(directory())) {
            return List.of();
        }
        List<VmPoint> points = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory())) {
            for (Path file : files.sorted().toList()) {
                Matcher m = FILE.matcher(file.getFileName().toString());
                if (!m.matches()) {
                    continue; // a temporary file of a write that did not finish
                }
                VmPoint point = VmPointFormat.decode(Files.readAllBytes(file), file.toString());
                if (point.id() != Long.parseLong(m.group(1)) || !point.vm().equals(vm)) {
                    throw new VmPointFormatException(file + " is a damaged VM point record: it says it is point "
                            + point.id() + " of " + point.vm(), false);
                }
                points.add(point);
            }
        }
        points.sort(Comparator.comparingLong(VmPoint::id));
        return points;
    }

    /**
     * Records {@code point} under the next id, then forgets VM points of which a disk's point is
     * gone (pruned by {@code --keep-points}). Returns the point as recorded.
     */
    public VmPoint record(VmPoint point, Path stateDirectory, Optional<NativeIo> io) throws IOException {
        if (!point.vm().equals(vm)) {
            throw new IllegalArgumentException("a point of " + point.vm() + " among " + vm + "'s");
        }
        Files.createDirectories(directory());
        try (FileChannel lockFile = FileChannel.open(directory().resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS); FileLock lock = lockFile.lock()) {
            List<VmPoint> existing = list();
            long id = existing.isEmpty() ? 1 : existing.get(existing.size() - 1).id() + 1;
            VmPoint recorded = point.withId(id);
            Path file = directory().resolve("point-" + id);
            Path temporary = directory().resolve("point-" + id + ".tmp");
            try (FileChannel out = SideFiles.create(temporary, true)) {
                ByteBuffer bytes = ByteBuffer.wrap(VmPointFormat.encode(recorded));
                while (bytes.hasRemaining()) {
                    out.write(bytes);
                }
                out.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
            Durability.syncDirectory(directory());
            Check check = check(stateDirectory, io);
            for (VmPoint old : existing) {
                if (!check.missing(old).isEmpty()) {
                    Files.deleteIfExists(directory().resolve("point-" + old.id()));
                }
            }
            return recorded;
        }
    }

    /** A check of this VM's points against its replicas' point stores, as they are now. */
    public Check check(Path stateDirectory, Optional<NativeIo> io) {
        return new Check(stateDirectory, io);
    }

    /**
     * Whether VM points can still be started: each replica's points are read once, however many
     * VM points are checked against them.
     */
    public final class Check {
        private final Path stateDirectory;
        private final Optional<NativeIo> io;
        private final Map<String, List<Point>> kept = new HashMap<>();

        private Check(Path stateDirectory, Optional<NativeIo> io) {
            this.stateDirectory = stateDirectory;
            this.io = io;
        }

        /**
         * Why {@code point} can no longer be started: each disk whose replica or recovery point is
         * gone, or whose point differs from the one recorded. Empty when every disk's point is there.
         */
        public List<String> missing(VmPoint point) throws IOException {
            List<String> reasons = new ArrayList<>();
            for (VmPoint.Disk disk : point.disks()) {
                Path replica = replicas.resolve(disk.replica());
                if (!Files.exists(replica)) {
                    reasons.add("replica " + replica + " is gone");
                    continue;
                }
                List<Point> points = kept.get(disk.replica());
                if (points == null) {
                    points = PointStore.locate(replica, stateDirectory, io).points();
                    kept.put(disk.replica(), points);
                }
                Optional<Point> found = points.stream().filter(p -> p.id() == disk.point() && !p.pending()).findFirst();
                if (found.isEmpty()) {
                    reasons.add("point " + disk.point() + " of " + replica + " is no longer kept");
                } else if (!Arrays.equals(found.get().digest(), disk.digest()) || found.get().length() != disk.length()) {
                    reasons.add("point " + disk.point() + " of " + replica + " is not the one the VM point recorded");
                }
            }
            return reasons;
        }
    }

    /** Every VM with points under {@code root}. */
    public static List<VmPoints> all(Path root) throws IOException {
        List<VmPoints> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.walk(root, 6)) {
            for (Path dir : dirs.filter(d -> d.getFileName() != null && d.getFileName().toString().equals(DIRECTORY)
                    && Files.isDirectory(d)).toList()) {
                try (Stream<Path> vms = Files.list(dir)) {
                    vms.filter(Files::isDirectory).map(v -> v.getFileName().toString()).filter(VmPoint::validName)
                            .sorted().forEach(name -> found.add(new VmPoints(dir.getParent(), name)));
                }
            }
        }
        return found;
    }
}
