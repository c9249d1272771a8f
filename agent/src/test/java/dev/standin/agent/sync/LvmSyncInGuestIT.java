package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.standin.snapshot.DeviceMapperGuest;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link LvmSyncIT} for real where this host's kernel has no device-mapper: inside a QEMU
 * guest with Debian's kernel on this host's own root filesystem ({@link DeviceMapperGuest}).
 */
@Tag("root")
class LvmSyncInGuestIT {

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path work;

    @Test
    void theLvmSyncTestsPassInAGuestWhoseKernelHasDeviceMapper() throws Exception {
        assumeFalse(DeviceMapperGuest.hostHasDeviceMapper(), "this kernel has device-mapper: LvmSyncIT runs here");
        DeviceMapperGuest.assertPasses(work, LvmSyncIT.class);
    }
}
