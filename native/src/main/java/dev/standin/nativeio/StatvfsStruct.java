package dev.standin.nativeio;

import jnr.ffi.Memory;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;

/**
 * {@code struct statvfs} as glibc lays it out on x86_64 (112 bytes: eleven unsigned longs then
 * int __f_spare[6]; f_frsize at 8, f_blocks at 16, f_bfree at 24, f_bavail at 32).
 */
final class StatvfsStruct extends Struct {

    final Unsigned64 fBsize = new Unsigned64();
    final Unsigned64 fFrsize = new Unsigned64();
    final Unsigned64 fBlocks = new Unsigned64();
    final Unsigned64 fBfree = new Unsigned64();
    final Unsigned64 fBavail = new Unsigned64();
    final Unsigned64 fFiles = new Unsigned64();
    final Unsigned64 fFfree = new Unsigned64();
    final Unsigned64 fFavail = new Unsigned64();
    final Unsigned64 fFsid = new Unsigned64();
    final Unsigned64 fFlag = new Unsigned64();
    final Unsigned64 fNamemax = new Unsigned64();
    final Signed32[] spare = array(new Signed32[6]);

    StatvfsStruct(Runtime runtime) {
        super(runtime);
        useMemory(Memory.allocateDirect(runtime, Struct.size(this), true));
    }

    jnr.ffi.Pointer pointer() {
        return Struct.getMemory(this);
    }
}
