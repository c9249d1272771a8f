package dev.standin.nativeio;

/**
 * Linux x86_64 constants, each checked against the glibc/kernel headers with a C program
 * ({@code printf("%lx", (unsigned long) BLKGETSIZE64)} and friends) on Debian 12.
 *
 * <p>ioctl request numbers are built with the same {@code _IOC} encoding the kernel headers use,
 * so the derivation is visible; {@code LinuxConstantsTest} pins the results to the literal values.
 */
final class Linux {

    private Linux() {
    }

    // open(2) flags (asm-generic/fcntl.h)
    static final int O_RDONLY = 0;
    static final int O_RDWR = 02;
    static final int O_DIRECTORY = 0200000;
    static final int O_CLOEXEC = 02000000;

    // lseek(2) whence
    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;

    // fallocate(2) mode bits (linux/falloc.h)
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    // st_mode file type bits (sys/stat.h)
    static final int S_IFMT = 0170000;
    static final int S_IFBLK = 0060000;

    // x86_64 syscall numbers (asm/unistd_64.h)
    static final long SYS_GETTID = 186;
    static final long SYS_IOPRIO_SET = 251;

    // linux/ioprio.h
    static final int IOPRIO_WHO_PROCESS = 1;
    static final int IOPRIO_CLASS_IDLE = 3;
    static final int IOPRIO_CLASS_SHIFT = 13;

    // sync_file_range(2)
    static final int SYNC_FILE_RANGE_WRITE = 2;

    // sysconf(3)
    static final int SC_PAGESIZE = 30;

    static int ioprioValue(int ioClass, int data) {
        return (ioClass << IOPRIO_CLASS_SHIFT) | data;
    }

    // _IOC encoding (asm-generic/ioctl.h): dir:2 | size:14 | type:8 | nr:8
    private static final int IOC_NONE = 0;
    private static final int IOC_WRITE = 1;
    private static final int IOC_READ = 2;

    static long ioc(int dir, int type, int nr, int size) {
        return ((long) dir << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }

    static long io(int type, int nr) {
        return ioc(IOC_NONE, type, nr, 0);
    }

    static long ior(int type, int nr, int size) {
        return ioc(IOC_READ, type, nr, size);
    }

    static long iow(int type, int nr, int size) {
        return ioc(IOC_WRITE, type, nr, size);
    }

    static long iowr(int type, int nr, int size) {
        return ioc(IOC_READ | IOC_WRITE, type, nr, size);
    }

    private static final int SIZEOF_INT = 4;
    private static final int SIZEOF_SIZE_T = 8;
    static final int SIZEOF_FILE_CLONE_RANGE = 32;

    // linux/fs.h block device ioctls, type 0x12
    /** _IOR(0x12, 114, size_t): device size in bytes into a u64. */
    static final long BLKGETSIZE64 = ior(0x12, 114, SIZEOF_SIZE_T);
    /** _IO(0x12, 104): logical sector size into an int. */
    static final long BLKSSZGET = io(0x12, 104);
    /** _IO(0x12, 123): physical sector size into an unsigned int. */
    static final long BLKPBSZGET = io(0x12, 123);
    /** _IO(0x12, 119): discard range, arg is u64[2] {offset, length}. */
    static final long BLKDISCARD = io(0x12, 119);
    /** _IO(0x12, 127): write zeroes to range, arg is u64[2] {offset, length}. */
    static final long BLKZEROOUT = io(0x12, 127);

    // linux/fs.h filesystem ioctls
    /** _IOW(0x94, 9, int): reflink the whole source fd into this one. */
    static final long FICLONE = iow(0x94, 9, SIZEOF_INT);
    /** _IOW(0x94, 13, struct file_clone_range). */
    static final long FICLONERANGE = iow(0x94, 13, SIZEOF_FILE_CLONE_RANGE);
    /** _IOWR('X', 119, int): freeze the filesystem the fd lives on. */
    static final long FIFREEZE = iowr('X', 119, SIZEOF_INT);
    /** _IOWR('X', 120, int): thaw it. */
    static final long FITHAW = iowr('X', 120, SIZEOF_INT);
}
