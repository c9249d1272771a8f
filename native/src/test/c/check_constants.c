/*
 * Prints the Linux x86_64 values that dev.standin.nativeio.Linux, StatStruct, StatvfsStruct and
 * FileCloneRange hard-code, straight from the system headers. Re-run after touching any of them:
 *
 *   gcc -o /tmp/check_constants native/src/test/c/check_constants.c && /tmp/check_constants
 *
 * and compare with LinuxConstantsTest.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <stddef.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/ioprio.h>

#define SHOW(name) printf("%-16s 0x%lx\n", #name, (unsigned long) (name))

int main(void) {
    SHOW(BLKGETSIZE64);
    SHOW(BLKSSZGET);
    SHOW(BLKPBSZGET);
    SHOW(BLKDISCARD);
    SHOW(BLKZEROOUT);
    SHOW(FICLONE);
    SHOW(FICLONERANGE);
    SHOW(FIFREEZE);
    SHOW(FITHAW);
    SHOW(O_CLOEXEC);
    SHOW(SEEK_DATA);
    SHOW(SEEK_HOLE);
    SHOW(FALLOC_FL_PUNCH_HOLE);
    SHOW(FALLOC_FL_KEEP_SIZE);
    SHOW(SYS_gettid);
    SHOW(SYS_ioprio_set);
    SHOW(IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
    SHOW(POSIX_FADV_RANDOM);
    SHOW(POSIX_FADV_SEQUENTIAL);
    SHOW(POSIX_FADV_DONTNEED);
    SHOW(_SC_PAGESIZE);
    SHOW(SYNC_FILE_RANGE_WRITE);
    printf("struct stat      size %zu st_mode %zu st_size %zu st_blocks %zu\n", sizeof(struct stat),
           offsetof(struct stat, st_mode), offsetof(struct stat, st_size), offsetof(struct stat, st_blocks));
    printf("struct statvfs   size %zu f_frsize %zu f_blocks %zu f_bfree %zu f_bavail %zu\n", sizeof(struct statvfs),
           offsetof(struct statvfs, f_frsize), offsetof(struct statvfs, f_blocks),
           offsetof(struct statvfs, f_bfree), offsetof(struct statvfs, f_bavail));
    printf("file_clone_range size %zu src_offset %zu src_length %zu dest_offset %zu\n",
           sizeof(struct file_clone_range), offsetof(struct file_clone_range, src_offset),
           offsetof(struct file_clone_range, src_length), offsetof(struct file_clone_range, dest_offset));
    return 0;
}
