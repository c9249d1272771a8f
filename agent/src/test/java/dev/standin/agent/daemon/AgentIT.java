package dev.standin.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin agent} in its own JVM, and commands in JVMs of their own that hand their cycle to
 * it: what they print, their exit status and their replicas must be what they would be without
 * the agent; a client that dies takes its cycle with it; a command the agent declines runs itself.
 */
class AgentIT {

    @TempDir
    Path dir;

    private Path socket;
    private Path agentLog;
    private Process agent;

    @BeforeEach
    void startAgent() throws Exception {
        // A $HOME that is not the passwd home (sudo -E, a CI runner): agent and clients share it.
        startAgent(Files.createDirectories(home()));
    }

    private void startAgent(Path home) throws Exception {
        startAgent(home, List.of());
    }

    /** The agent, its command line prefixed with {@code wrapper} (e.g. unshare). */
    private void startAgent(Path home, List<String> wrapper) throws Exception {
        socket = dir.resolve("run/agent.sock");
        agentLog = dir.resolve("agent.log");
        List<String> command = new java.util.ArrayList<>(wrapper);
        command.addAll(Cli.javaCommand("512m", "agent", "--socket", socket.toString()));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(agentLog.toFile());
        builder.environment().remove("SSH_AUTH_SOCK");
        builder.environment().put("HOME", home.toString());
        agent = builder.start();
        awaitLog("listening on " + socket, Duration.ofSeconds(20));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(socket)));
    }

    @AfterEach
    void stopAgent() throws Exception {
        agent.destroy();
        assertTrue(agent.waitFor(10, TimeUnit.SECONDS), "agent stops on SIGTERM");
        assertTrue(Files.notExists(socket), "agent removes its socket when it stops");
    }

    @Test
    void runsTheCommandAsItsClientWouldWithRelativePathsOutputAndExitStatus() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Images.create(work.resolve("disk.img"), 24 << 20, 1);
        Result first = client(work, Map.of(), "sync", "disk.img", "replica.img", "--json", "--state-dir", "state");
        assertEquals(0, first.exit, first.err);
        JsonNode stats = new ObjectMapper().readTree(first.out);
        assertTrue(stats.get("firstCopy").asBoolean(), first.out);
        assertEquals(Images.sha256(work.resolve("disk.img")), Images.sha256(work.resolve("replica.img")));
        awaitLog("#1 sync disk.img replica.img --json --state-dir state: exit 0", Duration.ofSeconds(5));

        Images.overwriteBlocks(work.resolve("disk.img"), 40, 4096, 2);
        Result second = client(work, Map.of(), "sync", "disk.img", "replica.img", "--stats", "-v", "--state-dir", "state");
        assertEquals(0, second.exit, second.err);
        assertTrue(second.out.contains("Literal data:"), second.out);
        assertTrue(second.err.contains("standin: scanning source"), second.err);
        assertEquals(Images.sha256(work.resolve("disk.img")), Images.sha256(work.resolve("replica.img")));

        Result missing = client(work, Map.of(), "sync", "nothing.img", "replica.img");
        assertEquals(3, missing.exit, missing.err);
        assertTrue(missing.err.startsWith("standin: source " + work.resolve("nothing.img")), missing.err);
        awaitLog("#3 sync nothing.img replica.img: exit 3", Duration.ofSeconds(5));
    }

    @Test
    void aCommandWithAnotherSshAgentIsDeclinedAndRunsItself() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Images.create(work.resolve("disk.img"), 8 << 20, 3);
        Result result = client(work, Map.of("SSH_AUTH_SOCK", dir.resolve("elsewhere.sock").toString()),
                "sync", "disk.img", "replica.img", "--state-dir", "state");
        assertEquals(0, result.exit, result.err);
        assertEquals(Images.sha256(work.resolve("disk.img")), Images.sha256(work.resolve("replica.img")));
        awaitLog("#1 declined sync disk.img replica.img --state-dir state: the command uses another ssh-agent",
                Duration.ofSeconds(5));
    }

    @Test
    void aCommandWithAnotherHomeIsDeclinedAndSaysWhyWithVerbose() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Images.create(work.resolve("disk.img"), 8 << 20, 3);
        Path otherHome = Files.createDirectories(dir.resolve("other-home"));
        Result result = client(work, Map.of("HOME", otherHome.toString()),
                "sync", "disk.img", "replica.img", "--state-dir", "state", "-v");
        assertEquals(0, result.exit, result.err);
        assertTrue(result.err.contains("standin: the agent at " + socket + " declined this command (the command's HOME ("
                + otherHome + ") differs from the agent's (" + home() + ")); running it here"), result.err);
        assertEquals(Images.sha256(work.resolve("disk.img")), Images.sha256(work.resolve("replica.img")));
        awaitLog("#1 declined sync disk.img replica.img --state-dir state -v: the command's HOME", Duration.ofSeconds(5));
        Result quiet = client(work, Map.of("HOME", otherHome.toString()), "sync", "disk.img", "replica.img",
                "--state-dir", "state");
        assertEquals(0, quiet.exit, quiet.err);
        assertEquals("", quiet.err, "without -v a declined command says nothing of it");
    }

    /**
     * The packaged unit's PrivateTmp and ProtectHome, made by hand: the agent in a mount namespace
     * of its own with a private tmpfs over one directory and another bound read-only. What a
     * command names there is another file, or unwritable, for the agent: it declines, and the
     * command runs itself. A serve whose root is the same directory for both stays resident.
     */
    @Test
    @Tag("root")
    void anAgentThatSeesOtherFilesDeclinesAllButAServeOfASharedRoot() throws Exception {
        Path privateDir = Files.createDirectories(dir.resolve("private"));
        Path readOnly = Files.createDirectories(dir.resolve("read-only"));
        Path shared = Files.createDirectories(dir.resolve("shared"));
        agent.destroy();
        assertTrue(agent.waitFor(10, TimeUnit.SECONDS));
        startAgent(home(), List.of("unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                "mount -t tmpfs -o size=16m standin-test \"$1\" && mount --bind \"$2\" \"$2\" "
                        + "&& mount -o remount,bind,ro \"$2\" && shift 2 && exec \"$@\"",
                "sh", privateDir.toString(), readOnly.toString()));

        Images.create(privateDir.resolve("disk.img"), 4 << 20, 5);
        Result sync = client(privateDir, Map.of(), "sync", "disk.img", "replica.img", "--state-dir", "state", "-v");
        assertEquals(0, sync.exit, sync.err);
        assertTrue(sync.err.contains("declined this command (the agent sees another filesystem than the command"),
                sync.err);
        assertEquals(Images.sha256(privateDir.resolve("disk.img")), Images.sha256(privateDir.resolve("replica.img")),
                "the replica is where the command's user looks for it");

        assertServe(privateDir, "declined serve --root " + privateDir + ": the agent sees another filesystem than "
                + "the command (its service's PrivateTmp, ProtectHome or ProtectSystem), so the command's paths could "
                + "name other files: " + privateDir + " is another directory for the agent");
        assertServe(readOnly, "declined serve --root " + readOnly + ": the agent sees another filesystem than the "
                + "command (its service's PrivateTmp, ProtectHome or ProtectSystem), so the command's paths could name "
                + "other files: " + readOnly + " is read-only for the agent");
        assertServe(shared, "serve --root " + shared + ": exit ");
        assertFalse(Files.readString(agentLog).contains("declined serve --root " + shared), Files.readString(agentLog));
    }

    /** A serve with {@code root} that hangs up at once; the agent's log then says {@code logged}. */
    private void assertServe(Path root, String logged) throws Exception {
        Process serve = clientProcess(dir, Map.of(), "serve", "--root", root.toString());
        serve.getOutputStream().close();
        assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve ends when its input does");
        awaitLog(logged, Duration.ofSeconds(10));
    }

    private Path home() {
        return dir.resolve("home");
    }

    @Test
    void aClientKilledMidCycleInterruptsItAndTheReplicaKeepsItsPoint() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Path disk = Images.createRandom(work.resolve("disk.img"), 768L << 20, 4);
        assertEquals(0, client(work, Map.of(), "sync", "disk.img", "replica.img", "--state-dir", "state").exit);
        String before = Images.sha256(work.resolve("replica.img"));
        Images.createRandom(disk, 768L << 20, 5); // every block changes: the cycle takes seconds
        Process doomed = clientProcess(work, Map.of(), "sync", "disk.img", "replica.img", "--state-dir", "state");
        awaitLog("#2 ", Duration.ZERO); // not logged before it ends
        Thread.sleep(700);
        assertTrue(doomed.isAlive(), "the cycle outlived 0.7 s, so the kill lands inside it");
        doomed.destroyForcibly().waitFor();
        awaitLog("#2 sync disk.img replica.img --state-dir state: exit 130", Duration.ofSeconds(20));
        assertEquals(before, Images.sha256(work.resolve("replica.img")), "replica still at its previous point");

        Result next = client(work, Map.of(), "sync", "disk.img", "replica.img", "--state-dir", "state", "-v");
        assertEquals(0, next.exit, next.err);
        assertEquals(Images.sha256(disk), Images.sha256(work.resolve("replica.img")));
    }

    @Test
    void serveStartedBySshdRunsInTheAgent() throws Exception {
        // sshd gives its sessions the passwd home, as systemd gives the agent's unit.
        stopAgent();
        Files.delete(agentLog);
        startAgent(Path.of(System.getProperty("user.home")));
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null,
                List.of(AgentSocket.VARIABLE + "=" + socket))) {
            Path source = Images.create(dir.resolve("disk.img"), 16 << 20, 6);
            List<String> args = new ArrayList<>(List.of("sync", source.toString(),
                    sshd.url(replicas.resolve("disk.img")), "--json", "--state-dir", dir.resolve("state").toString()));
            args.addAll(sshd.sshArgs());
            // This command runs in the test JVM; only the remote end goes through the agent.
            Cli.Result result = Cli.run(args.toArray(String[]::new));
            assertEquals(0, result.exit(), result.err());
            assertEquals(Images.sha256(source), Images.sha256(replicas.resolve("disk.img")));
            awaitLog("#1 serve --root " + replicas + ": exit 0", Duration.ofSeconds(10));
            // sshd's pipes went to the agent itself, not through the client as frames.
            awaitLog("(the client's pipes, opened)", Duration.ofSeconds(1));
        }
    }

    /**
     * Both ends through the agent, as on two hosts that each run one: after a cycle, the agent
     * greets the next cycle's receiver, and the next cycle to that replica starts on it instead of
     * starting a receiver of its own (a launcher notes each receiver sshd starts).
     */
    @Test
    void theNextCycleToAReplicaStartsOnTheReceiverTheAgentGreetedAfterTheLastOne() throws Exception {
        Path replicas = Files.createDirectories(dir.resolve("replicas"));
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null,
                List.of(AgentSocket.VARIABLE + "=" + socket))) {
            Path starts = dir.resolve("receivers-started");
            Files.writeString(starts, "");
            Path launcher = dir.resolve("counting-standin");
            Files.writeString(launcher, "#!/bin/sh\necho start >> '" + starts + "'\nexec '" + sshd.launcher() + "' \"$@\"\n");
            Files.setPosixFilePermissions(launcher, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            Path source = Images.create(dir.resolve("disk.img"), 16 << 20, 9);
            List<String> args = new ArrayList<>(List.of("sync", source.toString(),
                    sshd.url(replicas.resolve("disk.img")), "--state-dir", dir.resolve("state").toString(),
                    "-i", sshd.clientKey().toString(), "--known-hosts", sshd.knownHosts().toString(),
                    "--ssh-config", "none", "--remote-standin", launcher.toString()));
            Result first = client(dir, Map.of(), args.toArray(String[]::new));
            assertEquals(0, first.exit, first.err);
            awaitLines(starts, 2, "the first cycle's receiver and the one greeted for the next");

            Images.overwriteBlocks(source, 20, 4096, 10);
            Result second = client(dir, Map.of(), args.toArray(String[]::new));
            assertEquals(0, second.exit, second.err);
            assertEquals(Images.sha256(source), Images.sha256(replicas.resolve("disk.img")));
            awaitLines(starts, 3, "the second cycle used the greeted receiver and greeted the next");
            Thread.sleep(500);
            assertEquals(3, Files.readAllLines(starts).size(), "no receiver of its own for the second cycle");
        }
    }

    private static void awaitLines(Path file, int lines, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (Files.readAllLines(file).size() < lines) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out until " + what + ": " + Files.readAllLines(file).size() + " started");
            }
            Thread.sleep(50);
        }
    }

    @Test
    void anAgentThatDoesNotAnswerIsLeftAfterTenSecondsAndTheCommandRunsItself() throws Exception {
        Path mute = dir.resolve("mute.sock");
        try (java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(mute));
            Path work = Files.createDirectories(dir.resolve("work"));
            Images.create(work.resolve("disk.img"), 4 << 20, 10);
            long started = System.nanoTime();
            // Accepted by the kernel's backlog and never read: a wedged agent.
            Result result = client(work, Map.of(AgentSocket.VARIABLE, mute.toString()), "sync", "disk.img",
                    "replica.img", "--state-dir", "state");
            double seconds = (System.nanoTime() - started) / 1e9;
            assertEquals(0, result.exit, result.err);
            assertTrue(result.err.contains("did not answer within 10 s; running here instead"), result.err);
            assertTrue(seconds >= 10 && seconds < 60, seconds + " s");
            assertEquals(Images.sha256(work.resolve("disk.img")), Images.sha256(work.resolve("replica.img")));
        }
    }

    @Test
    void withTheAgentTurnedOffTheCommandRunsItself() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Images.create(work.resolve("disk.img"), 8 << 20, 7);
        Result result = client(work, Map.of(AgentSocket.VARIABLE, "none"), "sync", "disk.img", "replica.img",
                "--state-dir", "state");
        assertEquals(0, result.exit, result.err);
        assertEquals(Images.sha256(work.resolve("disk.img")), Images.sha256(work.resolve("replica.img")));
        assertTrue(!Files.readString(agentLog).contains("#1"), Files.readString(agentLog));
    }

    @Test
    void anotherBuildIsDeclinedAndGarbageDoesNotStopTheAgent() throws Exception {
        try (java.nio.channels.SocketChannel garbage = connect()) {
            AgentWire.output(garbage).write("GET / HTTP/1.0\r\n\r\n".getBytes());
            assertEquals(-1, AgentWire.input(garbage).read(), "the agent hangs up on what is not a frame");
        }
        awaitLog("#1 failed: dev.standin.agent.daemon.AgentWire$AgentWireException: not a standin agent frame",
                Duration.ofSeconds(5));
        try (java.nio.channels.SocketChannel older = connect()) {
            RunRequest request = new RunRequest("standin 0.0.1 built 2020-01-01T00:00:00Z", dir, false, false, 0,
                    FilesystemView.ofThisProcess(), Map.of(), List.of("sync", "a.img", "b.img"));
            AgentWire.write(AgentWire.output(older), AgentWire.RUN, request.encode());
            AgentWire.Frame answer = AgentWire.read(AgentWire.input(older));
            assertEquals(AgentWire.REFUSED, answer.type());
            assertTrue(answer.text().startsWith("the agent runs standin"), answer.text());
        }
        try (java.nio.channels.SocketChannel other = connect()) {
            RunRequest request = new RunRequest(dev.standin.agent.Version.build(), dir, false, false, 0, FilesystemView.ofThisProcess(), Map.of(),
                    List.of("restore", "a.img@1", "b.img"));
            AgentWire.write(AgentWire.output(other), AgentWire.RUN, request.encode());
            assertEquals(AgentWire.REFUSED, AgentWire.read(AgentWire.input(other)).type(), "only sync and serve");
        }
        Path work = Files.createDirectories(dir.resolve("work"));
        Images.create(work.resolve("disk.img"), 4 << 20, 8);
        Result after = client(work, Map.of(), "sync", "disk.img", "replica.img", "--state-dir", "state");
        assertEquals(0, after.exit, after.err);
        awaitLog("#4 sync disk.img replica.img --state-dir state: exit 0", Duration.ofSeconds(5));
    }

    @Test
    void aCommandThatIgnoresItsInputLeavesNoThreadBehindWhileItsClientKeepsSending() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Images.createRandom(work.resolve("disk.img"), 64L << 20, 9);
        commandWithEagerSender(work, 0); // the first loads and starts what the agent keeps
        Thread.sleep(500);
        long threadsBefore = agentThreads();
        for (int i = 1; i <= 3; i++) {
            commandWithEagerSender(work, i);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (agentThreads() > threadsBefore && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(agentThreads() <= threadsBefore, "agent threads " + threadsBefore + " -> " + agentThreads()
                + ": a session's input reader outlived its command");
    }

    /**
     * A command that never reads its stdin while its client sends 64 MiB into it, far more than
     * the agent queues for a command.
     */
    private void commandWithEagerSender(Path work, int round) throws Exception {
        try (java.nio.channels.SocketChannel client = connect()) {
            RunRequest request = new RunRequest(dev.standin.agent.Version.build(), work, false, true, 0, FilesystemView.ofThisProcess(), Map.of(),
                    List.of("sync", "disk.img", "replica-" + round + ".img", "--state-dir", "state"));
            java.io.OutputStream out = AgentWire.output(client);
            AgentWire.write(out, AgentWire.RUN, request.encode());
            java.io.InputStream in = AgentWire.input(client);
            assertEquals(AgentWire.ACCEPTED, AgentWire.read(in).type());
            var sender = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    byte[] chunk = new byte[256 << 10];
                    for (int i = 0; i < 256; i++) {
                        AgentWire.write(out, AgentWire.STDIN, chunk);
                    }
                } catch (IOException e) {
                    // the agent closed the connection after the exit frame: also fine
                }
            });
            sender.get(30, TimeUnit.SECONDS); // the agent keeps reading however full its queue
            int exit = -1;
            for (AgentWire.Frame f; (f = AgentWire.read(in)) != null; ) {
                if (f.type() == AgentWire.EXIT) {
                    exit = f.exitStatus();
                    break;
                }
            }
            assertEquals(0, exit);
        }
    }

    private long agentThreads() throws IOException {
        try (var tasks = Files.list(Path.of("/proc", Long.toString(agent.pid()), "task"))) {
            return tasks.count();
        }
    }

    private java.nio.channels.SocketChannel connect() throws IOException {
        java.nio.channels.SocketChannel channel = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX);
        channel.connect(java.net.UnixDomainSocketAddress.of(socket));
        return channel;
    }

    private record Result(int exit, String out, String err) {}

    private Result client(Path workingDirectory, Map<String, String> environment, String... args) throws Exception {
        Process p = clientProcess(workingDirectory, environment, args);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "client finished");
        String out = new String(p.getInputStream().readAllBytes());
        String err = Files.readString(dir.resolve("client.err"));
        return new Result(p.exitValue(), out, err);
    }

    private Process clientProcess(Path workingDirectory, Map<String, String> environment, String... args)
            throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Cli.javaCommand("256m", args)).directory(workingDirectory.toFile())
                .redirectError(dir.resolve("client.err").toFile());
        builder.environment().put(AgentSocket.VARIABLE, socket.toString());
        builder.environment().remove("SSH_AUTH_SOCK");
        builder.environment().put("HOME", home().toString());
        builder.environment().putAll(environment);
        return builder.start();
    }

    /** Waits for {@code text} in the agent's log; with a zero timeout, asserts it is not there yet. */
    private void awaitLog(String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            String log = Files.exists(agentLog) ? Files.readString(agentLog) : "";
            if (log.contains(text)) {
                if (timeout.isZero()) {
                    throw new AssertionError("agent log already has '" + text + "':\n" + log);
                }
                return;
            }
            if (timeout.isZero()) {
                return;
            }
            if (!agent.isAlive()) {
                throw new AssertionError("agent exited:\n" + log);
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("agent log lacks '" + text + "':\n" + Files.readString(agentLog));
    }
}
