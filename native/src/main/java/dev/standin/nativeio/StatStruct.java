package dev.standin.nativeio;

import jnr.ffi.Memory;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;

/**
 * {@code struct stat} as glibc lays it out on x86_64 (144 bytes; st_mode at 24, st_size at 48,
 * st_blocks at 64, verified with offsetof). Backed by direct memory so fstat writes straight into it.
 */
final class StatStruct extends Struct {

    final Unsigned64 stDev = new Unsigned64();
    final Unsigned64 stIno = new Unsigned64();
    final Unsigned64 stNlink = new Unsigned64();
    final Unsigned32 stMode = new Unsigned32();
    final Unsigned32 stUid = new Unsigned32();
    final Unsigned32 stGid = new Unsigned32();
    final Signed32 pad0 = new Signed32();
    final Unsigned64 stRdev = new Unsigned64();
    final Signed64 stSize = new Signed64();
    final Signed64 stBlksize = new Signed64();
    final Signed64 stBlocks = new Signed64();
    /** st_atim, st_mtim, st_ctim: three struct timespec {tv_sec, tv_nsec}. */
    final Signed64[] times = array(new Signed64[6]);
    final Signed64[] reserved = array(new Signed64[3]);

    StatStruct(Runtime runtime) {
        super(runtime);
        useMemory(Memory.allocateDirect(runtime, Struct.size(this), true));
    }

    jnr.ffi.Pointer pointer() {
        return Struct.getMemory(this);
    }
}
