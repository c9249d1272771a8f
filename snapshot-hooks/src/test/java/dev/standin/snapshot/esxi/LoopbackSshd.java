package dev.standin.snapshot.esxi;

import dev.standin.snapshot.CommandRunner;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH sshd on 127.0.0.1 and a random port, with a throwaway host key and client key,
 * StrictModes and PAM off, and {@code SetEnv} lines so that sessions find the test's commands first.
 */
final class LoopbackSshd implements AutoCloseable {

    private static final CommandRunner RUN = new CommandRunner();

    final int port;
    final Path clientKey;
    final Path knownHosts;
    private final Process process;

    private LoopbackSshd(int port, Path clientKey, Path knownHosts, Process process) {
        this.port = port;
        this.clientKey = clientKey;
        this.knownHosts = knownHosts;
        this.process = process;
    }

    static boolean installed() {
        return Files.isExecutable(Path.of("/usr/sbin/sshd")) && Files.isExecutable(Path.of("/usr/bin/ssh-keygen"));
    }

    static LoopbackSshd start(Path directory, List<String> setEnv) throws Exception {
        Path hostKey = directory.resolve("host_ed25519");
        Path clientKey = directory.resolve("client_ed25519");
        RUN.check(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey.toString()), Duration.ofSeconds(30));
        RUN.check(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-m", "PEM", "-f", clientKey.toString()),
                Duration.ofSeconds(30));
        Path authorized = Files.copy(Path.of(clientKey + ".pub"), directory.resolve("authorized_keys"));
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Path knownHosts = Files.writeString(directory.resolve("known_hosts"),
                "[127.0.0.1]:" + port + " " + Files.readString(Path.of(hostKey + ".pub")));
        Path config = Files.writeString(directory.resolve("sshd_config"), String.join("\n",
                "ListenAddress 127.0.0.1", "Port " + port, "HostKey " + hostKey, "AuthorizedKeysFile " + authorized,
                "PidFile " + directory.resolve("sshd.pid"), "StrictModes no", "UsePAM no", "PasswordAuthentication no",
                "PermitRootLogin prohibit-password", "SetEnv " + String.join(" ", setEnv), ""));
        Files.createDirectories(Path.of("/run/sshd"));
        Process process = new ProcessBuilder("/usr/sbin/sshd", "-f", config.toString(), "-D", "-e")
                .redirectErrorStream(true).redirectOutput(directory.resolve("sshd.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                new Socket("127.0.0.1", port).close();
                break;
            } catch (IOException notYet) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("sshd did not start: " + Files.readString(directory.resolve("sshd.log")));
                }
                Thread.sleep(50);
            }
        }
        return new LoopbackSshd(port, clientKey, knownHosts, process);
    }

    @Override
    public void close() {
        process.destroy();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
