package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.Cli;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.replica.InUse;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The supervisor's boot checks, wired end to end: a resident agent protects two VMs from its
 * configuration file (one over SSH to a replica host, one on this host), and 'standin run
 * --boot-check' starts each one's newest VM point there under QEMU. The verdict reaches the
 * catalog, status, health and the metrics; the replica host keeps the evidence.
 */
class BootCheckIT {

    @TempDir
    static Path dir;

    static OpenSshServer sshd;
    static Process agent;
    static Path socket;
    static int metricsPort;
    static String remote;

    @BeforeAll
    static void startAgent() throws Exception {
        for (String image : List.of("agent.img", "panic.img")) {
            if (!Files.exists(FailoverIT.IMAGES.resolve(image))) {
                fail(FailoverIT.IMAGES.resolve(image) + " is missing: run install/setup-debian.sh");
            }
        }
        sshd = OpenSshServer.start(dir.resolve("sshd"), null);
        Files.createDirectories(dir.resolve("src"));
        Files.copy(FailoverIT.IMAGES.resolve("agent.img"), dir.resolve("src/web.img"));
        Files.copy(FailoverIT.IMAGES.resolve("panic.img"), dir.resolve("src/crash.img"));
        Files.createDirectories(dir.resolve("replicas/web"));
        Files.createDirectories(dir.resolve("local"));
        try (ServerSocket s = new ServerSocket(0)) {
            metricsPort = s.getLocalPort();
        }
        remote = "ssh://" + System.getProperty("user.name") + "@127.0.0.1:" + sshd.port() + dir.resolve("replicas/web")
                + "/";
        Path config = dir.resolve("standin.yaml");
        Files.writeString(config, String.join("\n",
                "state-dir: " + dir.resolve("state"),
                "metrics: 127.0.0.1:" + metricsPort,
                "identity: " + sshd.clientKey(),
                "known-hosts: " + sshd.knownHosts(),
                "ssh-config: none",
                "remote-standin: " + sshd.launcher(),
                "vms:",
                "  web:",
                "    qemu: { memory: 256M, cpus: 1 }",
                "    disks: [{source: " + dir.resolve("src/web.img") + "}]",
                "    targets:",
                "      - dest: " + remote,
                "        rpo: 1h",
                "        boot-check: weekly",
                "  crash:",
                "    qemu: { memory: 256M }",
                "    disks: [{source: " + dir.resolve("src/crash.img") + "}]",
                "    targets:",
                "      - dest: " + dir.resolve("local") + "/",
                "        rpo: 1h",
                "        boot-check: weekly",
                ""));
        socket = dir.resolve("run/agent.sock");
        List<String> command = new ArrayList<>(Cli.javaCommand("512m", "agent", "--socket", socket.toString(),
                "--config", config.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("agent.log").toFile());
        builder.environment().remove("SSH_AUTH_SOCK");
        agent = builder.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(socket) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
    }

    @AfterAll
    static void stopAgent() throws Exception {
        if (agent != null) {
            agent.destroy();
            assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "the agent stops on SIGTERM");
        }
        OpenSshServer.awaitReceiversEnded(dir);
        if (sshd != null) {
            sshd.close();
        }
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            List<ProcessHandle> left = all.filter(p -> p.info().commandLine().map(c -> c.contains("qemu-system")
                    && c.contains(dir.toString())).orElse(false)).toList();
            left.forEach(ProcessHandle::destroyForcibly);
            assertEquals(List.of(), left, "QEMU processes left behind");
        }
    }

    @Test
    void theSupervisorChecksThatItsVmPointsBootAndSaysSoEverywhere() throws Exception {
        Cli.Result synced = client("run", "web", "--wait");
        assertEquals(0, synced.exit(), synced.err() + log());
        assertEquals(0, client("run", "crash", "--wait").exit(), log());

        Cli.Result web = client("run", "web", "--boot-check", "--wait");
        assertEquals(0, web.exit(), web.err() + log());
        assertTrue(web.out().matches("(?s)web: VM point [0-9]+: verified: the guest agent answers: standin test guest.*"),
                web.out());
        Cli.Result crash = client("run", "crash", "--boot-check", "--wait");
        assertEquals(10, crash.exit(), crash.out() + crash.err() + log());
        assertTrue(crash.out().contains(": failed: "), crash.out());

        JsonNode status = new ObjectMapper().readTree(client("status", "--json").out());
        JsonNode webTarget = target(status, "web");
        assertEquals("verified", webTarget.get("bootVerdict").asText(), webTarget.toString());
        assertEquals("ok", webTarget.get("health").asText(), webTarget.toString());
        JsonNode crashTarget = target(status, "crash");
        assertEquals("failed", crashTarget.get("bootVerdict").asText());
        assertEquals("warning", crashTarget.get("health").asText(), crashTarget.toString());
        assertTrue(crashTarget.get("reason").asText().contains("did not boot in its boot check"),
                crashTarget.toString());
        assertTrue(client("status").out().contains("verified"), "the text status has a BOOT CHECK column");

        JsonNode last = new ObjectMapper().readTree(client("history", "web", "--json").out().lines().findFirst()
                .orElseThrow());
        assertEquals("boot-check", last.get("kind").asText(), last.toString());

        String metrics = scrape();
        assertTrue(metrics.contains("standin_target_boot_check{target=\"" + remote
                + "\",vm=\"web\",standin_target_boot_check=\"verified\"} 1"), metrics);
        assertTrue(metrics.contains("standin_target_boot_check{target=\"" + dir.resolve("local")
                + "/\",vm=\"crash\",standin_target_boot_check=\"failed\"} 1"), metrics);

        // On the replica host: the VM point's verdict and evidence, and nothing of the test VM left.
        Cli.Result list = Cli.run("points", "web", "--root", dir.resolve("replicas").toString());
        assertTrue(list.out().lines().anyMatch(l -> l.contains(" qemu 256M 1 CPU ") && l.contains(" verified ")),
                list.out());
        Path vmDir = dir.resolve("replicas/web/.standin-vms/web");
        assertTrue(Files.exists(vmDir.resolve("last-boot-check/report.json")));
        assertFalse(Files.exists(vmDir.resolve("failover")));
        assertFalse(Files.exists(InUse.markOf(dir.resolve("replicas/web/web.img"))));
        assertEquals(0, client("run", "web", "--wait").exit(), "replication goes on after the check: " + log());
    }

    private static JsonNode target(JsonNode status, String vm) {
        for (JsonNode v : status.get("vms")) {
            if (v.get("name").asText().equals(vm)) {
                return v.get("targets").get(0);
            }
        }
        throw new AssertionError("no VM " + vm + " in " + status);
    }

    private static Cli.Result client(String... args) throws Exception {
        return Cli.askingAgent(socket, java.time.Duration.ofSeconds(600), args);
    }

    private static String scrape() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        return response.body();
    }

    private static String log() throws Exception {
        return Files.readString(dir.resolve("agent.log"));
    }
}
