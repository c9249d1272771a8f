package dev.standin.agent.supervise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.TcpCutter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The supervisor in the real agent process, protecting VMs from a configuration file: images
 * written while it runs, replicas on this host and, through a real OpenSSH sshd behind a relay
 * that can cut the network, on "another" one; status, history and run through the agent's socket,
 * on-health-change, and /metrics scraped over HTTP. One agent for the class; the tests run in order,
 * each starting from what the previous left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SupervisorIT {

    @TempDir
    static Path dir;

    static OpenSshServer sshd;
    static TcpCutter network;
    static Process agent;
    static Path socket;
    static Path config;
    static int metricsPort;
    static String local;
    static String remote;
    static String refused;

    @BeforeAll
    static void startAgent() throws Exception {
        sshd = OpenSshServer.start(dir.resolve("sshd"), null);
        network = new TcpCutter(sshd.port());
        Path knownHosts = sshd.knownHostsWithRelay(network.port(), dir.resolve("known_hosts"));
        Images.create(dir.resolve("vm1.img"), 16 << 20, 1);
        Images.create(dir.resolve("vm2.img"), 4 << 20, 2);
        Files.createDirectories(dir.resolve("local"));
        Files.createDirectories(dir.resolve("remote"));
        Images.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("unknown_key").toString());
        local = dir.resolve("local") + "/";
        String host = "ssh://" + System.getProperty("user.name") + "@127.0.0.1:" + network.port();
        remote = host + dir.resolve("remote") + "/";
        refused = host + dir.resolve("remote") + "/vm2/";
        // The guest's quiescing, as an application's pre/post hooks do it: PRE asks the writer to
        // pause and waits for it to say so (the same token back), POST lets it go on.
        Path pre = dir.resolve("pre.sh");
        Files.writeString(pre, "#!/bin/sh\ntoken=$$-$(date +%s%N)\necho $token > " + dir.resolve("frozen")
                + "\nwhile [ -e " + dir.resolve("writing") + " ] && [ \"$(cat " + dir.resolve("ack")
                + " 2>/dev/null)\" != \"$token\" ]; do sleep 0.01; done\n");
        pre.toFile().setExecutable(true);
        Path post = dir.resolve("post.sh");
        Files.writeString(post, "#!/bin/sh\nrm -f " + dir.resolve("frozen") + "\n");
        post.toFile().setExecutable(true);
        Path hook = dir.resolve("hook.sh");
        Files.writeString(hook, "#!/bin/sh\necho \"$STANDIN_VM $STANDIN_TARGET $STANDIN_PREVIOUS>$STANDIN_HEALTH "
                + "$STANDIN_REASON\" >> " + dir.resolve("hook.log") + "\n");
        hook.toFile().setExecutable(true);
        try (ServerSocket s = new ServerSocket(0)) {
            metricsPort = s.getLocalPort();
        }
        config = dir.resolve("standin.yaml");
        Files.writeString(config, configuration(""));
        socket = dir.resolve("run/agent.sock");
        ProcessBuilder builder = new ProcessBuilder(agentCommand()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("agent.log").toFile());
        builder.environment().remove("SSH_AUTH_SOCK");
        agent = builder.start();
        awaitLog("listening on " + socket);
    }

    /**
     * The agent as systemd runs it. Under env --default-signal=HUP: a CI job started with nohup
     * ignores SIGHUP, and a JVM that starts with a signal ignored keeps it ignored, so the reload
     * signal would never arrive.
     */
    static List<String> agentCommand() {
        List<String> command = new ArrayList<>(List.of("env", "--default-signal=HUP"));
        command.addAll(Cli.javaCommand("512m", "agent", "--socket", socket.toString(), "--config", config.toString()));
        return command;
    }

    static String configuration(String extra) {
        return String.join("\n",
                "state-dir: " + dir.resolve("state"),
                "metrics: 127.0.0.1:" + metricsPort,
                "max-parallel: 1", // one quiesced view at a time: the writer's freeze is not counted
                "on-health-change: " + dir.resolve("hook.sh"),
                "retry-first: 2s",
                "retry-max: 4s",
                "identity: " + sshd.clientKey(),
                "known-hosts: " + dir.resolve("known_hosts"),
                "ssh-config: none",
                "remote-standin: " + sshd.launcher(),
                "vms:",
                "  vm1:",
                "    disks:",
                "      - source: " + dir.resolve("vm1.img"),
                "        snapshot: script:" + dir.resolve("pre.sh") + ":" + dir.resolve("post.sh"),
                "    targets:",
                "      - dest: " + local,
                "        continuous: true",
                "        continuous-gap: 1s",
                "        rpo: 30s",
                "      - dest: " + remote,
                "        continuous: true",
                "        continuous-gap: 1s",
                "        rpo: 30s",
                "  vm2:",
                "    disks:",
                "      - source: " + dir.resolve("vm2.img"),
                "    targets:",
                "      - dest: " + refused,
                "        rpo: 1h",
                "        identity: " + dir.resolve("unknown_key"),
                extra, "");
    }

    @AfterAll
    static void stopAgent() throws Exception {
        if (agent != null) {
            agent.destroy();
            assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "the agent stops on SIGTERM");
        }
        OpenSshServer.awaitReceiversEnded(dir);
        if (network != null) {
            network.close();
        }
        if (sshd != null) {
            sshd.close();
        }
    }

    @Test
    @Order(1)
    void protectsTheVmsOfTheFileWhileTheirImagesAreWritten() throws Exception {
        AtomicBoolean writing = new AtomicBoolean(true);
        Thread writer = new Thread(() -> write(dir.resolve("vm1.img"), writing), "guest-writer");
        writer.start();
        try {
            awaitStatus("vm1 healthy on both targets", s -> health(s, "vm1", local).equals("ok")
                    && health(s, "vm1", remote).equals("ok"));
        } finally {
            writing.set(false);
            writer.join();
        }
        // Paused, vm1 starts no scheduled cycle; 'run' starts one anyway, of the image as it is now.
        assertEquals(0, client("pause", "vm1").exit());
        Cli.Result run = client("run", "vm1", "--wait");
        assertEquals(0, run.exit(), run.err());
        String source = Images.sha256(dir.resolve("vm1.img"));
        assertEquals(source, Images.sha256(dir.resolve("local/vm1.img")));
        // The receiver that committed is done with the replica; the warm channel the agent opened
        // after that success (docs/agent.md) waits for the next cycle and holds no file.
        OpenSshServer.awaitReplicasClosed(dir);
        assertEquals(source, Images.sha256(dir.resolve("remote/vm1.img")));
        assertEquals("paused", health(awaitStatus("paused", s -> true), "vm1", local));
        JsonNode last = new ObjectMapper().readTree(client("history", "vm1", "--json").out().lines().findFirst()
                .orElseThrow());
        assertEquals(1, last.get("points").size(), last.toString());
        assertTrue(last.get("points").get(0).asLong() > 0, "the cycle names the recovery point it made: " + last);
        assertEquals(0, client("resume", "vm1").exit());

        JsonNode vm2 = awaitStatus("vm2 critical", s -> health(s, "vm2", refused).equals("critical"));
        JsonNode target = target(vm2, "vm2", refused);
        assertTrue(target.get("reason").asText().contains("no key was accepted"), target.toString());
        Thread.sleep(5000); // retries every 2 to 4 s if it were transient
        Cli.Result history = client("history", "vm2", "--json");
        assertEquals(0, history.exit(), history.err());
        assertEquals(1, history.out().lines().count(), "a refused key is not retried in a storm: " + history.out());
        assertTrue(history.out().contains("\"result\":\"permanent\""), history.out());

        String hooks = Files.readString(dir.resolve("hook.log"));
        assertTrue(hooks.contains("vm1 " + local + " initial-sync>ok"), hooks);
        assertTrue(hooks.contains("vm2 " + refused + " initial-sync>critical"), hooks);

        String metrics = scrape();
        assertTrue(metrics.contains("standin_target_health{target=\"" + local + "\",vm=\"vm1\","
                + "standin_target_health=\"ok\"} 1"), metrics);
        assertTrue(metrics.contains("standin_target_health{target=\"" + refused + "\",vm=\"vm2\","
                + "standin_target_health=\"critical\"} 1"), metrics);
        assertTrue(metrics.contains("standin_target_rpo_seconds{target=\"" + remote + "\",vm=\"vm1\"} 30.0"), metrics);
        assertTrue(metrics.contains("standin_cycles_total{result=\"permanent\",target=\"" + refused + "\",vm=\"vm2\"} 1.0"),
                metrics);
        assertTrue(metrics.contains("standin_cycle_duration_seconds_count{target=\"" + local + "\",vm=\"vm1\"}"), metrics);
        assertTrue(metrics.contains("standin_bytes_sent_total{target=\"" + remote + "\",vm=\"vm1\"}"), metrics);

        Cli.Result text = client("status");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().lines().anyMatch(l -> l.startsWith("vm2") && l.contains("critical")), text.out());
    }

    @Test
    @Order(2)
    void aNetworkOutageIsRetriedWithBackoffAndHealsItself() throws Exception {
        network.cutAll(); // every connection reset, open ones too, as a dead link or a firewall would
        JsonNode down = awaitStatus("the remote target failing and late", s -> health(s, "vm1", remote).equals("warning")
                && target(s, "vm1", remote).get("consecutiveFailures").asInt() >= 3);
        assertTrue(target(down, "vm1", remote).get("lastError").asText().length() > 0, down.toString());
        assertEquals("ok", health(down, "vm1", local), "the local target goes on");
        network.cutAfter(Long.MAX_VALUE);
        awaitStatus("the remote target back", s -> health(s, "vm1", remote).equals("ok"));
        String hooks = Files.readString(dir.resolve("hook.log"));
        assertTrue(hooks.contains("vm1 " + remote + " ok>warning "), hooks);
        assertTrue(hooks.contains("vm1 " + remote + " warning>ok"), hooks);
        // Retries came after the backoff (2 s, doubling to 4 s, +-20 %), not back to back.
        Cli.Result history = client("history", "vm1", "--json", "--limit", "200");
        List<java.time.Instant> failures = new ArrayList<>();
        for (String line : history.out().lines().toList()) {
            JsonNode cycle = new ObjectMapper().readTree(line);
            if (cycle.get("target").asText().equals(remote) && cycle.get("result").asText().equals("transient")) {
                failures.add(0, java.time.Instant.parse(cycle.get("started").asText()));
            }
        }
        assertTrue(failures.size() >= 3, history.out());
        for (int i = 1; i < failures.size(); i++) {
            assertTrue(Duration.between(failures.get(i - 1), failures.get(i)).toMillis() >= 1600, failures.toString());
        }
        OpenSshServer.awaitReceiversEnded(dir.resolve("remote"));
    }

    @Test
    @Order(3)
    void aBadReloadKeepsTheConfigurationInForce() throws Exception {
        Files.writeString(config, configuration("  vm3:\n    disks: [{source: /nowhere/vm3.img}]\n"
                + "    targets: [{dest: /r/, rpoo: 5m}]"));
        Cli.Result reload = client("reload");
        assertEquals(2, reload.exit(), reload.out() + reload.err());
        assertTrue(reload.err().contains(config + ":"), reload.err());
        assertTrue(reload.err().contains("unknown key 'rpoo' in a target of vm3 (did you mean 'rpo'?); the "
                + "configuration in force is unchanged"), reload.err());
        Images.run("kill", "-HUP", Long.toString(agent.pid()));
        awaitLog("unknown key 'rpoo'");
        Cli.Result status = client("status", "--json");
        JsonNode vms = new ObjectMapper().readTree(status.out()).get("vms");
        assertEquals(2, vms.size(), status.out());

        Files.writeString(config, configuration(""));
        Cli.Result good = client("reload");
        assertEquals(0, good.exit(), good.err());
        assertTrue(good.out().contains("in force: 2 VMs, 3 targets"), good.out());
        Cli.Result unknown = client("run", "vm9");
        assertEquals(8, unknown.exit(), unknown.err());
        assertTrue(unknown.err().contains("no VM named vm9"), unknown.err());
    }

    /** A guest writing its disk, pausing while frozen (it answers the freeze's token in the ack file). */
    @Test
    @Order(4)
    void anAgentKilledMidCycleRecoversWhenItIsBack() throws Exception {
        Files.writeString(config, configuration(""));
        AtomicBoolean writing = new AtomicBoolean(true);
        Thread writer = new Thread(() -> write(dir.resolve("vm1.img"), writing), "guest-writer");
        writer.start();
        try {
            awaitStatus("a cycle running", s -> target(s, "vm1", remote).get("running").asBoolean());
            agent.destroyForcibly(); // kill -9, mid-cycle
            assertTrue(agent.waitFor(10, TimeUnit.SECONDS));
            int before = (int) Files.readString(dir.resolve("agent.log")).lines().count();
            ProcessBuilder builder = new ProcessBuilder(agentCommand()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile()));
            builder.environment().remove("SSH_AUTH_SOCK");
            agent = builder.start();
            awaitLog("listening on " + socket, before);
            // Both targets commit again: the interrupted cycle's journal and snapshot were dealt with.
            long cycles = Files.readString(dir.resolve("agent.log")).lines().skip(before)
                    .filter(l -> l.contains("vm1 " + remote + ": sync committed")).count();
            awaitStatus("vm1 committing again after the restart", s -> {
                try {
                    return Files.readString(dir.resolve("agent.log")).lines().skip(before)
                            .filter(l -> l.contains("vm1 " + remote + ": sync committed")).count() > cycles
                            && health(s, "vm1", local).equals("ok") && health(s, "vm1", remote).equals("ok");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } finally {
            writing.set(false);
            writer.join();
        }
        assertEquals(0, client("pause", "vm1").exit());
        assertEquals(0, client("run", "vm1", "--wait").exit());
        OpenSshServer.awaitReplicasClosed(dir); // a warm channel may wait for the next cycle
        String source = Images.sha256(dir.resolve("vm1.img"));
        assertEquals(source, Images.sha256(dir.resolve("local/vm1.img")));
        assertEquals(source, Images.sha256(dir.resolve("remote/vm1.img")));
        assertEquals("critical", health(awaitStatus("vm2 as before", s -> true), "vm2", refused),
                "the catalog kept vm2's health across the restart");
    }

    @Test
    @Order(5)
    void aScheduledVerifyFindsDriftOnTheReplicasHostAndRepairsIt() throws Exception {
        Images.create(dir.resolve("vm3.img"), 8 << 20, 3);
        Files.createDirectories(dir.resolve("remote3"));
        String dest = "ssh://" + System.getProperty("user.name") + "@127.0.0.1:" + network.port() + dir.resolve("remote3")
                + "/";
        // No verify yet: the drift must be on the replica before the first scheduled verify.
        Files.writeString(config, configuration("  vm3:\n    disks: [{source: " + dir.resolve("vm3.img") + "}]\n"
                + "    targets: [{dest: " + dest + ", rpo: 1h}]"));
        assertEquals(0, client("reload").exit());
        awaitStatus("vm3's first copy", s -> health(s, "vm3", dest).equals("ok"));
        // Not ended: after the success the agent may keep a greeted receiver for vm3's next cycle.
        OpenSshServer.awaitReplicasClosed(dir.resolve("remote3"));
        // The receiver writes the replica's record after it has answered; the drift is made after that.
        // Its identity need not match (the drift changes it anyway): the scrub compares content.
        Path record = dev.standin.agent.replica.SignatureCache.pathFor(dir.resolve("remote3/vm3.img"));
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); !Files.exists(record); Thread.sleep(20)) {
            assertTrue(System.nanoTime() < deadline, "no record beside the replica");
        }
        try (RandomAccessFile replica = new RandomAccessFile(dir.resolve("remote3/vm3.img").toFile(), "rw")) {
            byte[] block = new byte[4096];
            replica.seek(3 << 20);
            replica.readFully(block);
            for (int i = 0; i < block.length; i++) {
                block[i] ^= (byte) 0xA5; // a bad sector's worth of drift on the replica's host
            }
            replica.seek(3 << 20);
            replica.write(block);
        }
        Files.writeString(config, configuration("  vm3:\n    disks: [{source: " + dir.resolve("vm3.img") + "}]\n"
                + "    targets: [{dest: " + dest + ", rpo: 1h, verify: 20s}]"));
        assertEquals(0, client("reload").exit());
        awaitStatus("a verify cycle", s -> {
            try {
                return client("history", "vm3", "--json").out().contains("\"kind\":\"verify\"");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        String history = client("history", "vm3", "--json").out();
        JsonNode verify = new ObjectMapper().readTree(history.lines().findFirst().orElseThrow());
        assertEquals("verify", verify.get("kind").asText(), history);
        assertEquals("ok", verify.get("result").asText(), history);
        assertEquals(2048, verify.get("scrub").get("blocksChecked").asLong(), "every block re-read: " + history);
        assertTrue(verify.get("scrub").get("drifted").asBoolean(), history);
        assertEquals(1, verify.get("scrub").get("blocksRepaired").asLong(), history);
        OpenSshServer.awaitReplicasClosed(dir.resolve("remote3"));
        assertEquals(Images.sha256(dir.resolve("vm3.img")), Images.sha256(dir.resolve("remote3/vm3.img")));
    }

    /**
     * The replica host's filesystem fills up (a 40 MiB ext4 on a loop device, mounted by the test):
     * the receiver's ENOSPC crosses the wire as a permanent failure, so the target turns critical
     * at once with the reason and is not retried every few seconds; the replica keeps its last
     * point. Once space is freed, {@code standin run} brings it back.
     */
    @Test
    @Order(6)
    void aFullReplicaDiskIsCriticalAtOnceAndLosesNothing() throws Exception {
        Path image = dir.resolve("small-fs.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(40 << 20);
        }
        Images.run("mkfs.ext4", "-F", "-q", "-m", "0", image.toString());
        Path mount = Files.createDirectories(dir.resolve("full"));
        Images.run("mount", "-o", "loop", image.toString(), mount.toString());
        try {
            Path ballast = mount.resolve("ballast");
            Images.createRandom(ballast, 10 << 20, 9);
            Path source = Images.createRandom(dir.resolve("vm4.img"), 16 << 20, 4);
            String dest = "ssh://" + System.getProperty("user.name") + "@127.0.0.1:" + network.port() + mount + "/";
            Files.writeString(config, configuration("  vm4:\n    disks: [{source: " + source + "}]\n"
                    + "    targets: [{dest: " + dest + ", rpo: 1h, keep-points: 0}]"));
            assertEquals(0, client("reload").exit());
            awaitStatus("vm4's first copy", s -> health(s, "vm4", dest).equals("ok"));
            String first = Images.sha256(mount.resolve("vm4.img"));

            // 14 MiB rewritten: its journal does not fit beside the replica and the ballast.
            try (var ch = java.nio.channels.FileChannel.open(source, java.nio.file.StandardOpenOption.WRITE)) {
                Images.writeRandom(ch, 0, 14 << 20, new java.util.SplittableRandom(40));
            }
            assertEquals(0, client("run", "vm4").exit());
            JsonNode full = awaitStatus("vm4 critical", s -> health(s, "vm4", dest).equals("critical"));
            assertTrue(target(full, "vm4", dest).get("reason").asText().contains("No space left on device"),
                    target(full, "vm4", dest).toString());
            Thread.sleep(5000); // retries every 2 to 4 s if it were transient
            List<String> cycles = client("history", "vm4", "--json").out().lines().toList();
            assertEquals(2, cycles.size(), "the first copy and one failure, no retry storm: " + cycles);
            assertTrue(cycles.get(0).contains("\"result\":\"permanent\""), cycles.get(0));
            OpenSshServer.awaitReceiversEnded(mount);
            assertEquals(first, Images.sha256(mount.resolve("vm4.img")), "the replica keeps its last point");
            try (var left = Files.list(mount)) {
                assertEquals(List.of(), left.map(p -> p.getFileName().toString())
                        .filter(n -> n.endsWith("-journal") || n.endsWith("-partial")).toList(), "nothing half-written left");
            }
            String hooks = Files.readString(dir.resolve("hook.log"));
            assertTrue(hooks.contains("vm4 " + dest + " ok>critical "), hooks);

            Files.delete(ballast); // the operator frees space
            Cli.Result run = client("run", "vm4", "--wait");
            assertEquals(0, run.exit(), run.err());
            // Warning, not ok: 1 of the last hour's 3 cycles failed (over the 20 % rule).
            JsonNode back = awaitStatus("vm4 no longer critical", s -> !health(s, "vm4", dest).equals("critical"));
            assertEquals("warning", health(back, "vm4", dest), target(back, "vm4", dest).toString());
            assertEquals(Images.sha256(source), Images.sha256(mount.resolve("vm4.img")));
        } finally {
            // After a success the agent keeps a greeted receiver for the next cycle (a warm channel,
            // docs/agent.md); it holds the mount until it is let go, so it is ended here.
            try {
                for (ProcessHandle receiver : OpenSshServer.receivers(mount)) {
                    receiver.destroyForcibly();
                }
                OpenSshServer.awaitReceiversEnded(mount);
            } finally {
                Images.run("umount", mount.toString());
            }
        }
    }

    private static void write(Path image, AtomicBoolean writing) {
        Random random = new Random(5);
        byte[] block = new byte[4096];
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            Files.writeString(dir.resolve("writing"), "");
            long blocks = f.length() / 4096;
            while (writing.get()) {
                String token = Files.exists(dir.resolve("frozen")) ? read(dir.resolve("frozen")) : "";
                if (!token.isEmpty()) {
                    Files.writeString(dir.resolve("ack"), token + "\n");
                    Thread.sleep(5);
                    continue;
                }
                for (int i = 0; i < 16; i++) {
                    random.nextBytes(block);
                    f.seek((random.nextLong() & Long.MAX_VALUE) % blocks * 4096);
                    f.write(block);
                }
                Thread.sleep(100);
            }
            Files.delete(dir.resolve("writing"));
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return ""; // removed meanwhile: not frozen
        }
    }

    static String health(JsonNode status, String vm, String dest) {
        JsonNode t = target(status, vm, dest);
        return t == null ? "" : t.get("health").asText();
    }

    static JsonNode target(JsonNode status, String vm, String dest) {
        for (JsonNode v : status.get("vms")) {
            if (v.get("name").asText().equals(vm)) {
                for (JsonNode t : v.get("targets")) {
                    if (t.get("dest").asText().equals(dest)) {
                        return t;
                    }
                }
            }
        }
        return null;
    }

    private static JsonNode awaitStatus(String what, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String last = "";
        while (System.nanoTime() < deadline) {
            Cli.Result r = client("status", "--json");
            assertEquals(0, r.exit(), r.err());
            JsonNode status = new ObjectMapper().readTree(r.out());
            if (done.test(status)) {
                return status;
            }
            last = r.out();
            Thread.sleep(500);
        }
        throw new AssertionError(what + " did not come within 120 s; last status: " + last + "\nagent log:\n"
                + Files.readString(dir.resolve("agent.log")));
    }

    private static Cli.Result client(String... args) throws Exception {
        return Cli.askingAgent(socket, java.time.Duration.ofSeconds(60), args);
    }

    private static String scrape() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        return response.body();
    }

    private static void awaitLog(String text) throws Exception {
        awaitLog(text, 0);
    }

    /** Waits for {@code text} in the agent's log after its first {@code skip} lines. */
    private static void awaitLog(String text, int skip) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String log = Files.exists(dir.resolve("agent.log")) ? Files.readString(dir.resolve("agent.log")) : "";
            if (log.lines().skip(skip).anyMatch(l -> l.contains(text))) {
                return;
            }
            if (!agent.isAlive()) {
                throw new AssertionError("the agent ended: " + log);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + text + "' in the agent's log: " + Files.readString(dir.resolve("agent.log")));
    }
}
