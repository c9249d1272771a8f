package dev.standin.agent;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A real OpenSSH sshd on 127.0.0.1 for end-to-end tests: a throwaway host key, one client key in
 * authorized_keys (optionally behind a forced command), a known_hosts that trusts the host key,
 * and a {@code standin} launcher script that runs this build's classes as the remote command.
 */
public final class OpenSshServer implements AutoCloseable {

    private final Path dir;
    private final int port;
    private final Process process;

    private OpenSshServer(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    /** Starts sshd; {@code forcedCommand} (may be null) restricts the client key to one command. */
    public static OpenSshServer start(Path dir, String forcedCommand) throws IOException, InterruptedException {
        return start(dir, forcedCommand, List.of());
    }

    /** As above, with {@code NAME=VALUE} settings for every session's environment (sshd's SetEnv). */
    public static OpenSshServer start(Path dir, String forcedCommand, List<String> sessionEnvironment)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Files.createDirectories(Path.of("/run/sshd"));
        keygen(dir.resolve("host_ed25519"));
        keygen(dir.resolve("client_ed25519"));
        String clientKey = Files.readString(dir.resolve("client_ed25519.pub")).trim();
        Files.writeString(dir.resolve("authorized_keys"),
                (forcedCommand == null ? "" : "command=\"" + forcedCommand + "\",restrict ") + clientKey + "\n");
        int port = freePort();
        Files.writeString(dir.resolve("known_hosts"),
                "[127.0.0.1]:" + port + " " + Files.readString(dir.resolve("host_ed25519.pub")).trim() + "\n");
        Files.writeString(dir.resolve("sshd_config"), String.join("\n",
                "Port " + port,
                "ListenAddress 127.0.0.1",
                "HostKey " + dir.resolve("host_ed25519"),
                "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
                "PidFile " + dir.resolve("sshd.pid"),
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "MaxSessions 32",
                "LogLevel ERROR",
                sessionEnvironment.isEmpty() ? "" : "SetEnv " + String.join(" ", sessionEnvironment),
                "") + "\n");
        writeLauncher(dir.resolve("standin"));
        Process p = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", dir.resolve("sshd_config").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("sshd.log").toFile()).start();
        OpenSshServer server = new OpenSshServer(dir, port, p);
        server.awaitListening(Duration.ofSeconds(10));
        return server;
    }

    /** A new key at {@code key}; one left by an earlier server there is replaced (ssh-keygen would ask, and wait). */
    private static void keygen(Path key) throws IOException, InterruptedException {
        java.nio.file.Files.deleteIfExists(key);
        java.nio.file.Files.deleteIfExists(Path.of(key + ".pub"));
        Images.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "standin-test", "-f", key.toString());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The remote side's {@code standin}: this test run's JVM and class path. */
    private static void writeLauncher(Path script) throws IOException {
        List<String> command = new ArrayList<>(Cli.javaCommand("512m"));
        StringBuilder line = new StringBuilder("#!/bin/sh\nexec");
        for (String word : command) {
            line.append(" '").append(word.replace("'", "'\\''")).append('\'');
        }
        line.append(" \"$@\"\n");
        Files.writeString(script, line);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private void awaitListening(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("sshd exited: " + Files.readString(dir.resolve("sshd.log")));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new IOException("sshd did not listen on 127.0.0.1:" + port + " within " + timeout);
    }

    public int port() {
        return port;
    }

    public Path knownHosts() {
        return dir.resolve("known_hosts");
    }

    /** A known_hosts file that trusts this server's key on its own port and on {@code relayPort} (a {@link TcpCutter}). */
    public Path knownHostsWithRelay(int relayPort, Path file) throws IOException {
        String hostKey = Files.readString(dir.resolve("host_ed25519.pub")).trim();
        Files.writeString(file, "[127.0.0.1]:" + port + " " + hostKey + "\n[127.0.0.1]:" + relayPort + " " + hostKey + "\n");
        return file;
    }

    /** The host's public key, as ssh-keygen -lf reads it. */
    public Path hostKey() {
        return dir.resolve("host_ed25519.pub");
    }

    /** The one authorized_keys file this sshd reads (AuthorizedKeysFile). */
    public Path authorizedKeys() {
        return dir.resolve("authorized_keys");
    }

    public Path clientKey() {
        return dir.resolve("client_ed25519");
    }

    public Path launcher() {
        return dir.resolve("standin");
    }

    /** {@code ssh://root@127.0.0.1:PORT/path}. */
    public String url(Path path) {
        return "ssh://" + System.getProperty("user.name") + "@127.0.0.1:" + port + path.toAbsolutePath();
    }

    /** The options every sync through this server needs: key, known_hosts, no user config, launcher. */
    public List<String> sshArgs() {
        return List.of("-i", clientKey().toString(), "--known-hosts", knownHosts().toString(), "--ssh-config", "none",
                "--remote-standin", launcher().toString());
    }

    /**
     * Waits until no {@code standin serve} with its root under {@code root} runs any more: a
     * receiver goes on after it has answered its sender (it records the replica's signatures then),
     * and a test that deletes its directory at once would race it. Looked for by command line: a
     * session's process need not stay a descendant of sshd once the sender has left.
     */
    public static void awaitReceiversEnded(Path root) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!receivers(root).isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("standin serve under " + root + " did not end within 30 s: "
                        + receivers(root).stream().map(p -> p.pid() + " started " + p.info().startInstant().orElse(null)
                                + ": " + String.join(" ", commandLine(p.pid()).stream()
                                        .filter(a -> !a.contains(".jar:")).toList()) + "\n" + threads(p.pid())).toList());
            }
            Thread.sleep(20);
        }
    }

    /**
     * Waits until no {@code standin serve} under {@code root} has a file below it open: every
     * receiver is done with the replicas and their records. Unlike {@link #awaitReceiversEnded}, a
     * receiver that was greeted and waits for the next cycle (a warm channel, which a long-lived
     * sender opens after a success, docs/agent.md) may go on: it holds no file there.
     */
    public static void awaitReplicasClosed(Path root) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        List<String> open;
        while (!(open = openBelow(root)).isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("receivers under " + root + " still hold " + open + " after 30 s");
            }
            Thread.sleep(20);
        }
    }

    /** The files below {@code root} that a receiver under it holds open, as "PID PATH". */
    private static List<String> openBelow(Path root) {
        List<String> open = new ArrayList<>();
        for (ProcessHandle receiver : receivers(root)) {
            try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(receiver.pid()), "fd"))) {
                fds.forEach(fd -> {
                    try {
                        String target = Files.readSymbolicLink(fd).toString();
                        if (target.startsWith(root + "/")) {
                            open.add(receiver.pid() + " " + target);
                        }
                    } catch (IOException gone) {
                        // the descriptor was closed meanwhile
                    }
                });
            } catch (IOException ended) {
                // the receiver ended meanwhile
            }
        }
        return open;
    }

    /**
     * Every running {@code standin serve} with an argument at or under {@code root}. The command
     * line is read from /proc whole: JDK 17's {@code ProcessHandle.Info.arguments()} reads one 4 KiB
     * page and gives nothing for longer ones, and the launcher's class path is longer than that.
     */
    public static List<ProcessHandle> receivers(Path root) {
        return ProcessHandle.allProcesses().filter(p -> {
            List<String> args = commandLine(p.pid());
            return args.contains("serve") && args.stream().anyMatch(a -> a.startsWith(root.toString()));
        }).toList();
    }

    /** What a stuck receiver's threads are doing, for the failure message. */
    private static String threads(long pid) {
        try {
            Process jcmd = new ProcessBuilder("jcmd", Long.toString(pid), "Thread.print").redirectErrorStream(true).start();
            String dump = new String(jcmd.getInputStream().readAllBytes());
            jcmd.waitFor(20, java.util.concurrent.TimeUnit.SECONDS);
            return dump;
        } catch (IOException e) {
            return "(no thread dump: " + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(no thread dump: interrupted)";
        }
    }

    private static List<String> commandLine(long pid) {
        try {
            String line = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"));
            return List.of(line.split("\0"));
        } catch (IOException e) { // the process ended meanwhile
            return List.of();
        }
    }

    public String log() throws IOException {
        return Files.readString(dir.resolve("sshd.log"));
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
