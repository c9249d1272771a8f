package dev.standin.agent.transport;

import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.Replication;
import dev.standin.agent.sync.SignatureSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.agent.sync.Progress;
import dev.standin.agent.sync.SyncOptions;
import dev.standin.agent.sync.SyncStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cycles that start on a channel greeted in advance (what the resident agent does), through a real
 * OpenSSH sshd on 127.0.0.1. The remote standin is started by a launcher that notes each start, so
 * the tests see whether a cycle used the warm channel or started a receiver of its own.
 */
class WarmChannelsIT {

    @TempDir
    static Path shared;

    static OpenSshServer sshd;

    @TempDir
    Path dir;

    private Path starts;
    private Path exits;
    private SshOptions ssh;

    @BeforeAll
    static void startSshd() throws Exception {
        sshd = OpenSshServer.start(shared.resolve("sshd"), null);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        sshd.close();
    }

    @BeforeEach
    void countingLauncher() throws IOException {
        starts = dir.resolve("starts");
        exits = dir.resolve("exits");
        Files.writeString(starts, "");
        Files.writeString(exits, "");
        Path launcher = dir.resolve("standin");
        Files.writeString(launcher, "#!/bin/sh\necho $$ >> '" + starts + "'\n'" + sshd.launcher() + "' \"$@\"\n"
                + "echo \"$$ $?\" >> '" + exits + "'\n");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        ssh = new SshOptions(Optional.of(sshd.clientKey()), sshd.knownHosts(), Optional.empty(), launcher.toString(),
                20_000, 0, SshOptions.DEFAULT_IO_TIMEOUT);
    }

    /** Every receiver a test started has ended before its directory is deleted. */
    @AfterEach
    void receiversEnded() throws Exception {
        for (String pid : receiversStarted()) {
            awaitEnd(pid);
        }
    }

    private SyncStats cycle(Path source, Path replica, WarmChannels warm) throws Exception {
        SyncOptions options = SyncOptions.builder(source, replica).stateDirectory(dir.resolve("state")).build();
        RemoteLocation location = RemoteLocation.parse(sshd.url(replica)).orElseThrow();
        return new Replication(Progress.NONE, line -> { }, Optional.empty()).run(new CycleRequest(
                List.of(new CycleRequest.Disk(options, Optional.empty())),
                Optional.of(new CycleRequest.Remote(location, ssh, Optional.of(warm))), false)).disks().get(0).orThrow();
    }

    private List<String> receiversStarted() throws IOException {
        return Files.readAllLines(starts);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    /** The exit status of the receiver the launcher with {@code pid} ran, once it has exited. */
    private Optional<Integer> exitOf(String pid) throws IOException {
        return Files.readAllLines(exits).stream().filter(l -> l.startsWith(pid + " "))
                .map(l -> Integer.parseInt(l.substring(pid.length() + 1))).findFirst();
    }

    /** Waits until the receiver the launcher with {@code pid} ran has exited; its status. */
    private int awaitEnd(String pid) throws InterruptedException, IOException {
        await("receiver " + pid + " has exited", () -> {
            try {
                return exitOf(pid).isPresent();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        return exitOf(pid).orElseThrow();
    }

    @Test
    void theNextCycleStartsOnTheChannelTheLastOneLeftGreeted() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 8 << 20, 1);
        Path replica = dir.resolve("replica.img");
        try (WarmChannels warm = new WarmChannels()) {
            assertTrue(cycle(source, replica, warm).firstCopy());
            await("a channel is warm", () -> warm.size() == 1);
            assertEquals(2, receiversStarted().size(), "the cycle's receiver and the warm one");
            for (int round = 2; round <= 4; round++) {
                Images.overwriteBlocks(source, 10, 4096, round);
                SyncStats stats = cycle(source, replica, warm);
                assertEquals(Images.sha256(source), Images.sha256(replica));
                assertEquals(SignatureSource.SENDER_CACHE, stats.signatures());
                await("the next channel is warm", () -> warm.size() == 1);
                assertEquals(round + 1, receiversStarted().size(),
                        "each cycle used the receiver started before it and started one for the next");
            }
        }
    }

    @Test
    void aCycleWhoseWarmReceiverDiedStartsOverOnANewConnection() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 8 << 20, 2);
        Path replica = dir.resolve("replica.img");
        try (WarmChannels warm = new WarmChannels()) {
            cycle(source, replica, warm);
            await("a channel is warm", () -> warm.size() == 1);
            String waiting = receiversStarted().get(1);
            new ProcessBuilder("pkill", "-9", "-P", waiting).start().waitFor();
            Images.overwriteBlocks(source, 10, 4096, 5);
            cycle(source, replica, warm);
            assertEquals(Images.sha256(source), Images.sha256(replica));
            assertEquals(3, receiversStarted().size(), "one receiver for the retried cycle");
        }
    }

    @Test
    void anIdleChannelIsLetGoAndItsReceiverExitsCleanly() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 4 << 20, 3);
        Path replica = dir.resolve("replica.img");
        try (WarmChannels warm = new WarmChannels(Duration.ofMillis(800))) {
            cycle(source, replica, warm);
            await("a channel is warm", () -> warm.size() == 1);
            String waiting = receiversStarted().get(1);
            await("the idle channel is let go", () -> warm.size() == 0);
            assertEquals(0, awaitEnd(waiting), "a channel let go unused ends its receiver cleanly");
            cycle(source, replica, warm);
            assertEquals(Images.sha256(source), Images.sha256(replica));
        }
    }

    @Test
    void aChannelIsTakenOnlyByACycleToTheSamePlaceWithTheSameOptions() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 4 << 20, 4);
        Path replica = dir.resolve("replica.img");
        Path other = dir.resolve("other.img");
        try (WarmChannels warm = new WarmChannels()) {
            cycle(source, replica, warm);
            await("a channel is warm", () -> warm.size() == 1);
            cycle(source, other, warm); // another replica: it must not take the first one's channel
            assertEquals(Images.sha256(source), Images.sha256(other));
            await("both replicas have a channel", () -> warm.size() == 2);
            assertEquals(4, receiversStarted().size());
            RemoteLocation location = RemoteLocation.parse(sshd.url(replica)).orElseThrow();
            String command = ssh.remoteStandin() + " serve --root " + Shell.quote(location.directory());
            SshOptions limited = new SshOptions(ssh.identity(), ssh.knownHosts(), ssh.sshConfig(), ssh.remoteStandin(),
                    ssh.connectTimeoutMillis(), 10 << 20, ssh.ioTimeout());
            assertEquals(Optional.empty(), warm.take(new WarmChannels.Key(location, limited, command)),
                    "a channel rate-limited otherwise is not this cycle's");
            try (WarmChannels.Warm same = warm.take(new WarmChannels.Key(location, ssh, command)).orElseThrow()) {
                assertTrue(same.channel().isOpen());
            }
        }
    }

    @Test
    void closingLetsEveryChannelGo() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 4 << 20, 6);
        WarmChannels warm = new WarmChannels();
        cycle(source, dir.resolve("replica.img"), warm);
        await("a channel is warm", () -> warm.size() == 1);
        String waiting = receiversStarted().get(1);
        warm.close();
        assertEquals(0, warm.size());
        assertEquals(0, awaitEnd(waiting), "a channel let go unused ends its receiver cleanly");
    }
}
