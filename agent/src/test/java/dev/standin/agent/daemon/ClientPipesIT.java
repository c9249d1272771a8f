package dev.standin.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent opens a client's stdin and stdout pipes through /proc (real processes): bytes written
 * into the client's stdin pipe reach the agent, bytes the agent writes come out of the client's
 * stdout pipe; a client whose stdin is a file is left to relay its streams itself.
 */
class ClientPipesIT {

    @TempDir
    Path dir;

    @Test
    void aClientsPipesCarryTheStreamBothWays() throws Exception {
        Process client = new ProcessBuilder("sleep", "30").start(); // stdin and stdout are pipes to this JVM
        try {
            Optional<ClientPipes> pipes = ClientPipes.open(client.pid());
            assertTrue(pipes.isPresent(), "a same-user process with pipes");
            try (ClientPipes p = pipes.get()) {
                byte[] toAgent = "Hello from sshd".getBytes(StandardCharsets.UTF_8);
                client.getOutputStream().write(toAgent);
                client.getOutputStream().flush();
                assertArrayEquals(toAgent, p.in().readNBytes(toAgent.length));
                byte[] fromAgent = "Committed".getBytes(StandardCharsets.UTF_8);
                p.out().write(fromAgent);
                p.out().flush();
                assertArrayEquals(fromAgent, client.getInputStream().readNBytes(fromAgent.length));
            }
        } finally {
            client.destroyForcibly();
        }
    }

    @Test
    void aClientWhoseStdinIsAFileRelaysItself() throws Exception {
        Path input = Files.writeString(dir.resolve("input"), "x");
        Process client = new ProcessBuilder("sleep", "30").redirectInput(input.toFile()).start();
        try {
            assertTrue(ClientPipes.open(client.pid()).isEmpty());
            assertTrue(ClientPipes.open(0).isEmpty());
            assertTrue(ClientPipes.open(Long.MAX_VALUE).isEmpty(), "no such process");
        } finally {
            client.destroyForcibly();
        }
    }
}
