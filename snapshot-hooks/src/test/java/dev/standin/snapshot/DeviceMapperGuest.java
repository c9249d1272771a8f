package dev.standin.snapshot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a shell script inside a throwaway QEMU guest whose kernel has device-mapper, for the LVM
 * tests on hosts whose own kernel has none (containers, microVMs such as this project's CI).
 *
 * <p>The guest boots Debian's stock kernel with a tiny initramfs (both made by
 * {@code install/test-kernel.sh}) on this host's own root filesystem, read-only over virtio-9p,
 * with tmpfs where programs write: it runs the same Java, lvm2, thin-provisioning-tools and test
 * classes as the host; only the kernel differs. The work directory is shared writable at its own
 * path; the script's output and exit status come back through it.
 *
 * <p>TCG, not KVM: on this project's machines (KVM nested inside a microVM) a Linux kernel under
 * KVM hangs while decompressing, whereas TCG boots it in ~3 s and starts a JVM in ~2 s.
 * {@code STANDIN_TEST_GUEST_ACCEL=kvm} overrides that where KVM works. Single-threaded TCG: with
 * one host thread per vCPU (QEMU 7.2's default) the guest JVM crashed in JIT-compiled code in 2 of
 * 4 runs (SIGSEGV at a method's first instruction); single-threaded, 0 of 3, while -Xint made the
 * LVM tests take 9 minutes instead of 2.
 */
public final class DeviceMapperGuest {

    /** What the guest's script printed and how it ended. */
    public record Result(int exit, String log, String console) {}

    private DeviceMapperGuest() {}

    public static boolean hostHasDeviceMapper() throws Exception {
        CommandRunner.Result r = new CommandRunner().run(List.of("dmsetup", "version"), Duration.ofSeconds(10));
        return r.ok() && r.stdout().contains("Driver version");
    }

    /** Where install/test-kernel.sh left the kernel: {@code STANDIN_TEST_KERNEL}, else its default. */
    public static Path kernelDirectory() {
        String configured = System.getenv("STANDIN_TEST_KERNEL");
        return Path.of(configured != null ? configured : "/var/cache/standin/test-kernel");
    }

    public static boolean kernelPrepared() {
        Path dir = kernelDirectory();
        return Files.isRegularFile(dir.resolve("vmlinuz")) && Files.isRegularFile(dir.resolve("initramfs.gz"));
    }

    /**
     * Runs {@code tests} in the guest and fails unless every one of its tests ran there and passed
     * (none skipped); prints the guest's report either way.
     */
    public static void assertPasses(Path work, Class<?> tests) throws IOException, InterruptedException {
        Result result = runTests(work, tests, Duration.ofMinutes(10));
        System.out.println(tests.getSimpleName() + " in the device-mapper guest:\n" + result.log());
        org.junit.jupiter.api.Assertions.assertEquals(0, result.exit(),
                tests.getSimpleName() + " failed in the guest:\n" + result.log());
        org.junit.jupiter.api.Assertions.assertTrue(
                result.log().contains("0 tests skipped") && result.log().contains("0 tests failed"), result.log());
    }

    /**
     * Runs the JUnit class {@code tests} in the guest with this JVM's class path and module
     * options (JUnit's console launcher), and returns its report and exit status.
     */
    public static Result runTests(Path work, Class<?> tests, Duration timeout) throws IOException, InterruptedException {
        if (!kernelPrepared()) {
            throw new IOException("no test kernel in " + kernelDirectory()
                    + ": run install/test-kernel.sh (install/setup-debian.sh does)");
        }
        // The guest's /tmp is the host's, read-only: temporary files (JUnit's @TempDir) go to its tmpfs.
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:ErrorFile=" + work.toAbsolutePath().resolve("hs_err.log"), "-XX:-UsePerfData",
                "-Djava.io.tmpdir=/run/tmp"));
        command.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-")).toList());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.junit.platform.console.ConsoleLauncher",
                "execute", "--disable-banner", "--disable-ansi-colors", "--details=tree", "--fail-if-no-tests",
                // Only Jupiter: other engines on the class path (jqwik, ArchUnit) have nothing to run
                // here, and jqwik would fail for want of its database directory in the guest's cwd.
                "--include-engine=junit-jupiter", "--select-class", tests.getName()));
        return run(work, "exec " + dev.standin.snapshot.RemoteShell.quote(command) + "\n", timeout);
    }

    /**
     * Boots the guest with {@code extra} QEMU arguments (drives, sockets) and starts {@code script}
     * with /bin/sh in {@code work}; returns the running QEMU, which powers off when the script ends.
     * Its console goes to {@code work/guest-console.log}, the script's output to {@code work/guest.log}.
     */
    public static Process boot(Path work, String script, List<String> extra) throws IOException {
        if (!kernelPrepared()) {
            throw new IOException("no test kernel in " + kernelDirectory()
                    + ": run install/test-kernel.sh (install/setup-debian.sh does)");
        }
        Path dir = work.toAbsolutePath().normalize();
        Files.writeString(dir.resolve("guest-run.sh"), script);
        Files.deleteIfExists(dir.resolve("guest.log"));
        Files.deleteIfExists(dir.resolve("guest.exit"));
        Path kernel = kernelDirectory();
        boolean kvm = "kvm".equals(System.getenv("STANDIN_TEST_GUEST_ACCEL"));
        List<String> command = new ArrayList<>(List.of("qemu-system-x86_64",
                "-machine", "q35", "-accel", kvm ? "kvm" : "tcg,thread=single", "-cpu", kvm ? "host" : "qemu64",
                "-m", "2048", "-smp", "2", "-nographic", "-no-reboot",
                "-kernel", kernel.resolve("vmlinuz").toString(), "-initrd", kernel.resolve("initramfs.gz").toString(),
                "-append", "console=ttyS0 panic=-1 quiet standin.work=" + dir,
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
                "-virtfs", "local,path=" + dir + ",mount_tag=work,security_model=none,multidevs=remap"));
        command.addAll(extra);
        Path console = dir.resolve("guest-console.log");
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(console.toFile()).start();
    }

    /**
     * Boots the guest, runs {@code script} with /bin/sh in {@code work} (which must be an absolute
     * path on the host's root filesystem), and returns when the guest has powered off.
     */
    public static Result run(Path work, String script, Duration timeout) throws IOException, InterruptedException {
        Path dir = work.toAbsolutePath().normalize();
        Path console = dir.resolve("guest-console.log");
        Process qemu = boot(work, script, List.of());
        if (!qemu.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            qemu.destroyForcibly().waitFor();
            throw new IOException("the device-mapper guest did not finish within " + timeout + "; its console:\n"
                    + Files.readString(console));
        }
        Path exit = dir.resolve("guest.exit");
        Path log = dir.resolve("guest.log");
        String consoleText = Files.readString(console);
        if (!Files.exists(exit)) {
            throw new IOException("the device-mapper guest ended without running the script (qemu exit "
                    + qemu.exitValue() + "); its console:\n" + consoleText);
        }
        return new Result(Integer.parseInt(Files.readString(exit).strip()),
                Files.exists(log) ? Files.readString(log) : "", consoleText);
    }
}
