package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.failure.ExitStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A receiver that neither answers nor closes ({@code standin serve} stopped with SIGSTOP, as a
 * process stuck on a dead disk looks from the network): the sender abandons the cycle after
 * {@code --timeout}, says why in one line, leaves no replica, and the next cycle, once the
 * receiver is gone, completes.
 */
class HungReceiverIT {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void aHungReceiverIsAbandonedAfterTheTimeoutAndTheNextCycleCompletes() throws Exception {
        Path source = Images.createRandom(dir.resolve("vm.img"), 48 * MIB, 7);
        Path root = Files.createDirectories(dir.resolve("replicas"));
        Path replica = root.resolve("vm.img");
        try (OpenSshServer sshd = OpenSshServer.start(dir.resolve("sshd"), null)) {
            List<String> args = new ArrayList<>(List.of("sync", source.toString(), sshd.url(replica), "--state-dir",
                    dir.resolve("state").toString(), "--timeout", "5", "--bwlimit", "8M"));
            args.addAll(sshd.sshArgs());
            long started = System.nanoTime();
            CompletableFuture<Cli.Result> cycle = CompletableFuture.supplyAsync(() -> Cli.run(args.toArray(String[]::new)));
            awaitReceiver(root);
            Thread.sleep(1_500); // inside the first copy: 48 MiB at 8 MiB/s
            List<ProcessHandle> receiver = OpenSshServer.receivers(root); // the launcher's shell and its java
            for (ProcessHandle p : receiver) {
                Images.run("kill", "-STOP", Long.toString(p.pid()));
            }
            try {
                Cli.Result hung = cycle.get(60, TimeUnit.SECONDS);
                double seconds = (System.nanoTime() - started) / 1e9;
                assertEquals(ExitStatus.DESTINATION.code(), hung.exit(), hung.err());
                assertTrue(hung.err().contains("nothing moved to or from 127.0.0.1 for 5 s (--timeout): the receiver is "
                        + "hung or its disk stopped answering; the replica stays at its last committed point"), hung.err());
                assertEquals(1, hung.err().strip().lines().count(), hung.err());
                assertTrue(seconds < 30, "abandoned after about 1.5 + 5 s, not left hanging: " + seconds);
                assertFalse(Files.exists(replica), "a first copy is not a replica until it commits");
            } finally {
                receiver.forEach(ProcessHandle::destroyForcibly); // SIGKILL ends a stopped process too
            }
            OpenSshServer.awaitReceiversEnded(root);

            args.removeAll(List.of("--bwlimit", "8M"));
            args.add("--json");
            Cli.Result next = Cli.run(args.toArray(String[]::new));
            assertEquals(0, next.exit(), next.err());
            OpenSshServer.awaitReceiversEnded(root);
            assertEquals(Images.sha256(source), Images.sha256(replica));
        }
    }

    private static void awaitReceiver(Path root) throws InterruptedException {
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); ; Thread.sleep(20)) {
            if (!OpenSshServer.receivers(root).isEmpty()) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "no standin serve started");
        }
    }
}
