package dev.standin.nativeio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import org.junit.jupiter.api.Test;

/**
 * Pins the x86_64 constants and struct layouts to the values printed by a C program against the
 * real headers (see src/test/c/check_constants.c), so a refactor cannot silently change them.
 */
class LinuxConstantsTest {

    private final Runtime runtime = Runtime.getSystemRuntime();

    @Test
    void ioctlNumbersMatchTheKernelHeaders() {
        assertEquals(0x80081272L, Linux.BLKGETSIZE64);
        assertEquals(0x1268L, Linux.BLKSSZGET);
        assertEquals(0x127BL, Linux.BLKPBSZGET);
        assertEquals(0x1277L, Linux.BLKDISCARD);
        assertEquals(0x127FL, Linux.BLKZEROOUT);
        assertEquals(0x40049409L, Linux.FICLONE);
        assertEquals(0x4020940DL, Linux.FICLONERANGE);
        assertEquals(0xC0045877L, Linux.FIFREEZE);
        assertEquals(0xC0045878L, Linux.FITHAW);
    }

    @Test
    void flagsAndSyscallNumbers() {
        assertEquals(02000000, Linux.O_CLOEXEC);
        assertEquals(3, Linux.SEEK_DATA);
        assertEquals(4, Linux.SEEK_HOLE);
        assertEquals(3, Linux.FALLOC_FL_PUNCH_HOLE | Linux.FALLOC_FL_KEEP_SIZE);
        assertEquals(186, Linux.SYS_GETTID);
        assertEquals(251, Linux.SYS_IOPRIO_SET);
        assertEquals(0x6000, Linux.ioprioValue(Linux.IOPRIO_CLASS_IDLE, 0));
        assertEquals(1, Advice.RANDOM.value);
        assertEquals(2, Advice.SEQUENTIAL.value);
        assertEquals(4, Advice.DONTNEED.value);
        assertEquals(30, Linux.SC_PAGESIZE);
        assertEquals(2, Linux.SYNC_FILE_RANGE_WRITE);
    }

    @Test
    void structStatLayout() {
        StatStruct stat = new StatStruct(runtime);
        assertEquals(144, Struct.size(stat));
        assertEquals(24, stat.stMode.offset());
        assertEquals(48, stat.stSize.offset());
        assertEquals(64, stat.stBlocks.offset());
        // and the memory really is shared with what fstat will fill in
        stat.pointer().putLong(48, 123456789L);
        stat.pointer().putInt(24, 0060644);
        assertEquals(123456789L, stat.stSize.longValue());
        assertEquals(0060644, stat.stMode.intValue());
    }

    @Test
    void structStatvfsLayout() {
        StatvfsStruct statvfs = new StatvfsStruct(runtime);
        assertEquals(112, Struct.size(statvfs));
        assertEquals(0, statvfs.fBsize.offset());
        assertEquals(8, statvfs.fFrsize.offset());
        assertEquals(16, statvfs.fBlocks.offset());
        assertEquals(24, statvfs.fBfree.offset());
        assertEquals(32, statvfs.fBavail.offset());
    }

    @Test
    void structFileCloneRangeLayout() {
        FileCloneRange range = new FileCloneRange(runtime);
        assertEquals(Linux.SIZEOF_FILE_CLONE_RANGE, Struct.size(range));
        assertEquals(0, range.srcFd.offset());
        assertEquals(8, range.srcOffset.offset());
        assertEquals(16, range.srcLength.offset());
        assertEquals(24, range.destOffset.offset());
    }

    @Test
    void errnoNames() {
        assertEquals("ENOENT", Errno.name(2));
        assertEquals("ENOSPC", Errno.name(28));
        assertEquals("EOPNOTSUPP", Errno.name(95));
        assertEquals("EHWPOISON", Errno.name(133));
        assertEquals("E41", Errno.name(41)); // unassigned on Linux
        assertEquals("E999", Errno.name(999));
    }
}
