package dev.standin.snapshot.lvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.standin.snapshot.DeviceMapperGuest;
import java.nio.file.Path;
import java.time.Duration;
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
        assertTrue(DeviceMapperGuest.kernelPrepared(), "no test kernel in " + DeviceMapperGuest.kernelDirectory()
                + ": run install/test-kernel.sh (install/setup-debian.sh does)");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "exec " + java + " -XX:ErrorFile=" + work.resolve("hs_err.log") + " "
                + System.getProperty("standin.jvm.exports", "")
                + " -cp '" + System.getProperty("java.class.path") + "'"
                + " org.junit.platform.console.ConsoleLauncher execute --disable-banner --disable-ansi-colors"
                + " --details=tree --fail-if-no-tests --select-class " + LvmHookIT.class.getName() + "\n";
        DeviceMapperGuest.Result result = DeviceMapperGuest.run(work, script, Duration.ofMinutes(10));
        System.out.println("LvmInGuestIT: LvmHookIT in the guest:\n" + result.log());
        assertEquals(0, result.exit(), "LvmHookIT failed in the guest:\n" + result.log());
        assertTrue(result.log().contains("tests successful"), result.log());
        assertTrue(!result.log().contains("tests skipped") || result.log().contains("0 tests skipped"),
                "LvmHookIT skipped tests in the guest:\n" + result.log());
    }
}
