package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.standin.snapshot.DeviceMapperGuest;
import java.nio.file.Path;
import java.time.Duration;
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
        DeviceMapperGuest.Result result = DeviceMapperGuest.runTests(work, LvmSyncIT.class, Duration.ofMinutes(10));
        System.out.println("LvmSyncInGuestIT: LvmSyncIT in the guest:\n" + result.log());
        assertEquals(0, result.exit(), "LvmSyncIT failed in the guest:\n" + result.log());
        assertTrue(result.log().contains("0 tests skipped") && result.log().contains("0 tests failed"), result.log());
    }
}
