package dev.standin.nativeio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A freshly made filesystem mounted on a temp directory. {@link #close()} always tries, in order,
 * to thaw (in case a test left it frozen), unmount, and detach the loop device, and reports the
 * first failure only after attempting every step.
 */
final class MountedFs implements AutoCloseable {

    private final FsType type;
    private final Path mountPoint;
    private final LoopDevice loop; // null for tmpfs
    private boolean mounted;

    private MountedFs(FsType type, Path mountPoint, LoopDevice loop) {
        this.type = type;
        this.mountPoint = mountPoint;
        this.loop = loop;
    }

    /** Makes a {@code type} filesystem under {@code workDir} (image + mount point) and mounts it. */
    static MountedFs create(FsType type, Path workDir) throws IOException, InterruptedException {
        return create(type, workDir, type.imageBytes);
    }

    /** As {@link #create(FsType, Path)} with a larger image (sparse, so only what is written costs disk). */
    static MountedFs create(FsType type, Path workDir, long imageBytes) throws IOException, InterruptedException {
        if (imageBytes < type.imageBytes) {
            throw new IllegalArgumentException(type + " needs at least " + type.imageBytes + " bytes");
        }
        Commands.requireRoot();
        String mount = Commands.require("mount", "mount");
        Path mountPoint = Files.createDirectories(workDir.resolve(type.name().toLowerCase() + "-mnt"));
        if (type == FsType.TMPFS) {
            MountedFs fs = new MountedFs(type, mountPoint, null);
            Commands.check(mount, "-t", "tmpfs", "-o", "size=" + imageBytes, "tmpfs", mountPoint.toString());
            fs.mounted = true;
            return fs;
        }
        String mkfs = Commands.require(type.mkfs, type.aptPackage);
        LoopDevice loop = LoopDevice.create(workDir.resolve(type.name().toLowerCase() + ".img"), imageBytes);
        MountedFs fs = new MountedFs(type, mountPoint, loop);
        try {
            List<String> mkfsCommand = new ArrayList<>();
            mkfsCommand.add(mkfs);
            mkfsCommand.addAll(type.mkfsOptions);
            mkfsCommand.add(loop.device().toString());
            Commands.check(mkfsCommand.toArray(String[]::new));
            Commands.check(mount, loop.device().toString(), mountPoint.toString());
            fs.mounted = true;
            return fs;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            try {
                fs.close();
            } catch (Exception cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    FsType type() {
        return type;
    }

    Path mountPoint() {
        return mountPoint;
    }

    Path resolve(String name) {
        return mountPoint.resolve(name);
    }

    /** The loop device under the filesystem (not for tmpfs). */
    Path device() {
        return loop.device();
    }

    @Override
    public void close() throws IOException, InterruptedException {
        List<String> problems = new ArrayList<>();
        if (mounted) {
            // A test that failed mid-freeze must not leave writers (and umount) hanging forever.
            Commands.run(Commands.require("fsfreeze", "util-linux"), "--unfreeze", mountPoint.toString());
            Commands.Result umount = Commands.run(Commands.require("umount", "mount"), mountPoint.toString());
            if (!umount.ok()) {
                problems.add(umount.describe());
                // still try to get the mount out of the way so the loop device can go
                Commands.run(Commands.require("umount", "mount"), "--lazy", mountPoint.toString());
            }
            mounted = false;
        }
        if (loop != null) {
            try {
                loop.close();
            } catch (IOException e) {
                problems.add(e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new IOException("cleanup of " + type + " at " + mountPoint + " failed: " + String.join("; ", problems));
        }
    }

    @Override
    public String toString() {
        return type + " at " + mountPoint + (loop == null ? "" : " on " + loop);
    }
}
