package dev.standin.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * install/setup-debian.sh, run for real with --list: the demo, which may run on a hypervisor
 * host, asks for what it needs and nothing the tests need; the demo builds quietly.
 */
class SetupScriptIT {

    private static final Path INSTALL = Path.of("..", "install").toAbsolutePath().normalize();

    private static List<String> packages(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("bash", INSTALL.resolve("setup-debian.sh").toString(),
                "--list"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        return out.strip().lines().toList();
    }

    @Test
    void theDemoInstallsOnlyWhatItNeeds() throws Exception {
        List<String> demo = packages("--demo");
        assertEquals(List.of("openjdk-17-jdk-headless", "maven", "libxxhash0", "openssh-server", "openssh-client"), demo);
        List<String> tests = packages();
        assertTrue(tests.containsAll(demo), tests.toString());
        for (String testOnly : List.of("qemu-system-x86", "lvm2", "xfsprogs", "btrfs-progs", "rsync")) {
            assertTrue(tests.contains(testOnly) && !demo.contains(testOnly), testOnly);
        }
    }

    @Test
    void theDemoRunsTheDemoProfileWaitsForTheDpkgLockAndHidesMavensOutput() throws Exception {
        String demo = Files.readString(INSTALL.resolve("demo.sh"));
        assertTrue(demo.contains("install/setup-debian.sh --demo\n"), "demo.sh asks for the demo profile");
        assertTrue(demo.contains("mvn -q -B package -DskipTests > \"$build_log\" 2>&1"), "Maven's output goes to a log");
        for (String script : List.of("setup-debian.sh", "test-kernel.sh")) {
            String text = Files.readString(INSTALL.resolve(script));
            long aptCalls = text.lines().filter(l -> l.matches(".*apt-get\\b.*\\b(update|install)\\b.*")
                    && !l.strip().startsWith("#") && !l.contains("die ") && !l.contains("echo ")).count();
            long waiting = text.lines().filter(l -> l.matches(".*apt-get\\b.*\\b(update|install)\\b.*")
                    && (l.contains("DPkg::Lock::Timeout") || l.contains("apt_opts"))).count();
            assertTrue(aptCalls > 0 && aptCalls == waiting, script + ": every apt-get update/install waits for the lock");
        }
        Process bad = new ProcessBuilder("bash", INSTALL.resolve("setup-debian.sh").toString(), "--bogus")
                .redirectErrorStream(true).start();
        String said = new String(bad.getInputStream().readAllBytes());
        assertEquals(2, bad.waitFor());
        assertTrue(said.contains("unknown option '--bogus'"), said);
    }
}
