package dev.standin.nativeio;

import jnr.ffi.Memory;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;

/** {@code struct file_clone_range} from linux/fs.h: {s64 src_fd; u64 src_offset, src_length, dest_offset}. */
final class FileCloneRange extends Struct {

    final Signed64 srcFd = new Signed64();
    final Unsigned64 srcOffset = new Unsigned64();
    final Unsigned64 srcLength = new Unsigned64();
    final Unsigned64 destOffset = new Unsigned64();

    FileCloneRange(Runtime runtime) {
        super(runtime);
        useMemory(Memory.allocateDirect(runtime, Struct.size(this), true));
    }

    jnr.ffi.Pointer pointer() {
        return Struct.getMemory(this);
    }
}
