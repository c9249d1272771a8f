package dev.standin.snapshot.lvm;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.standin.snapshot.DeviceMapperGuest;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link LvmHookIT} for real where this host's kernel has no device-mapper: inside a QEMU
 * guest with Debian's kernel and this host's own root filesystem (see {@link DeviceMapperGuest}),
 * so that the lvm hook is tested against real LVM on every machine. Where the host has
 * device-mapper, LvmHookIT runs directly and this test has nothing to add.
 */
@Tag("root")
class LvmInGuestIT {

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path work;

    @Test
    void theLvmHookTestsPassInAGuestWhoseKernelHasDeviceMapper() throws Exception {
        assumeFalse(DeviceMapperGuest.hostHasDeviceMapper(), "this kernel has device-mapper: LvmHookIT runs here");
        DeviceMapperGuest.assertPasses(work, LvmHookIT.class);
    }
}
