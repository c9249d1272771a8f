package dev.standin.nativeio;

import java.util.List;

/** Filesystems the root tests build on loop devices, with the tool, package and minimum image size each needs. */
enum FsType {
    EXT4("mkfs.ext4", "e2fsprogs", 64L << 20, List.of("-F", "-q")),
    XFS("mkfs.xfs", "xfsprogs", 320L << 20, List.of("-f", "-q")),
    BTRFS("mkfs.btrfs", "btrfs-progs", 160L << 20, List.of("-f", "-q")),
    /** No device: mounted directly with {@code mount -t tmpfs}. */
    TMPFS(null, "util-linux", 64L << 20, List.of());

    final String mkfs;
    final String aptPackage;
    final long imageBytes;
    final List<String> mkfsOptions;

    FsType(String mkfs, String aptPackage, long imageBytes, List<String> mkfsOptions) {
        this.mkfs = mkfs;
        this.aptPackage = aptPackage;
        this.imageBytes = imageBytes;
        this.mkfsOptions = mkfsOptions;
    }
}
