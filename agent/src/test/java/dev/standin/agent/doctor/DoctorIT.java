package dev.standin.agent.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin doctor} in its own JVM against real things: an sshd that one target reaches with
 * its key and another target's known_hosts does not trust, a QEMU whose QMP socket greets and a
 * socket that is not there, an agent that runs and one that does not.
 */
class DoctorIT {

    @TempDir
    Path dir;

    private OpenSshServer sshd;
    private final List<Process> processes = new ArrayList<>();

    @BeforeEach
    void startSshd() throws Exception {
        sshd = OpenSshServer.start(dir.resolve("sshd"), null);
    }

    @AfterEach
    void stopAll() throws Exception {
        for (Process p : processes) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
        OpenSshServer.awaitReceiversEnded(dir.resolve("replicas"));
        sshd.close();
    }

    @Test
    void namesWhatIsMissingOneLineEachAndFails() throws Exception {
        Path disk = Images.create(dir.resolve("vm1.img"), 4 << 20, 1);
        Path config = vm1(
                "    disks:",
                "      - source: " + disk,
                "        snapshot: qemu:" + dir.resolve("gone.qmp") + ":drive0",
                "      - source: " + dir.resolve("missing.img"),
                "    targets:",
                "      - dest: " + sshd.url(dir.resolve("replicas")) + "/",
                "        rpo: 1h",
                "        identity: " + sshd.clientKey(),
                "        known-hosts: " + write("empty_known_hosts", ""),
                "        ssh-config: none",
                "        remote-standin: " + sshd.launcher());
        Doctored result = doctor(config, dir.resolve("no-agent.sock"));
        assertEquals(9, result.exit, result.out);
        assertLine(result, "MISSING  vm1 QMP: " + dir.resolve("gone.qmp") + " does not exist (is the VM running");
        assertLine(result, "MISSING  vm1 disk: " + dir.resolve("missing.img") + " does not exist");
        assertLine(result, "ok       vm1 disk: " + disk + " readable");
        assertLine(result, "MISSING  vm1 -> " + sshd.url(dir.resolve("replicas")) + "/: host 127.0.0.1:" + sshd.port()
                + " is not in known_hosts");
        assertLine(result, "MISSING  agent: not running on " + dir.resolve("no-agent.sock")
                + "; start it: systemctl enable --now standin-agent");
        assertTrue(result.out.endsWith("standin doctor: 4 things the configuration uses are missing or unreachable\n"),
                result.out);
    }

    @Test
    void passesWhenEverythingTheConfigurationUsesIsThere() throws Exception {
        Path qmp = dir.resolve("vm1.qmp");
        processes.add(new ProcessBuilder("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
                "-qmp", "unix:" + qmp + ",server=on,wait=off").redirectErrorStream(true)
                .redirectOutput(dir.resolve("qemu.log").toFile()).start());
        Path socket = dir.resolve("run/agent.sock");
        processes.add(new ProcessBuilder(Cli.javaCommand("256m", "agent", "--socket", socket.toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("agent.log").toFile()).start());
        await(qmp);
        await(socket);
        Path disk = Images.create(dir.resolve("vm1.img"), 4 << 20, 1);
        Path config = vm1(
                "    disks:",
                "      - source: " + disk,
                "        snapshot: qemu:" + qmp + ":drive0",
                "    targets:",
                "      - dest: " + dir.resolve("local") + "/",
                "        rpo: 1h",
                "      - dest: " + sshd.url(dir.resolve("replicas")) + "/",
                "        rpo: 1h",
                "        identity: " + sshd.clientKey(),
                "        known-hosts: " + sshd.knownHosts(),
                "        ssh-config: none",
                "        remote-standin: " + sshd.launcher());
        Files.createDirectories(dir.resolve("replicas"));
        Doctored result = doctor(config, socket);
        assertEquals(0, result.exit, result.out);
        assertLine(result, "ok       vm1 QMP: " + qmp + " greets as QMP");
        assertLine(result, "ok       vm1 -> " + sshd.url(dir.resolve("replicas")) + "/: reached with its key and pinned "
                + "host key; standin");
        assertLine(result, "ok       vm1 -> " + dir.resolve("local") + "/: " + dir.resolve("local") + " (made at the first cycle)");
        assertLine(result, "ok       agent: listening on " + socket);
        assertLine(result, "ok       qemu-img: ");
        assertTrue(result.out.endsWith("standin doctor: everything the configuration uses is here\n"), result.out);
    }

    private void assertLine(Doctored result, String start) {
        assertTrue(result.out.lines().anyMatch(l -> l.startsWith(start)), "no line starting '" + start + "' in:\n"
                + result.out);
    }

    private record Doctored(int exit, String out) {}

    private Doctored doctor(Path config, Path agentSocket) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(Cli.javaCommand("256m", "doctor", "-c", config.toString()))
                .redirectErrorStream(true);
        builder.environment().put("STANDIN_AGENT_SOCKET", agentSocket.toString());
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Doctored(p.exitValue(), out);
    }

    /** A configuration of one VM, vm1, whose settings are {@code lines}. */
    private Path vm1(String... lines) throws Exception {
        return write("doctor.yaml", String.join("\n", "state-dir: " + dir.resolve("state"), "metrics: off", "vms:",
                "  vm1:", String.join("\n", lines), ""));
    }

    private Path write(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    private static void await(Path socket) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Files.exists(socket)) {
            assertTrue(System.nanoTime() < deadline, socket + " did not appear");
            Thread.sleep(50);
        }
    }
}
