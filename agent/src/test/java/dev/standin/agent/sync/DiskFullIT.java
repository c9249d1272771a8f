package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import dev.standin.failure.ExitStatus;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A full destination filesystem (a 48 MiB ext4 made on a loop-mounted file): the cycle fails with
 * a one-line "no space" error and exit status 4, the replica keeps its previous content, no
 * journal or staging file is left, and once space is freed the next cycle completes.
 */
@Tag("root")
class DiskFullIT {

    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private Path mount;

    @BeforeEach
    void mountSmallFilesystem() throws Exception {
        Path image = dir.resolve("small-fs.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(48 * MIB);
        }
        Images.run("mkfs.ext4", "-F", "-q", "-m", "0", image.toString());
        mount = Files.createDirectory(dir.resolve("mnt"));
        Images.run("mount", "-o", "loop", image.toString(), mount.toString());
    }

    @AfterEach
    void unmount() throws Exception {
        if (mount != null) {
            Images.run("umount", mount.toString());
        }
    }

    /** Local, or through a real sshd to {@code standin serve} on the same machine. */
    private Cli.Result sync(Path source, Path replica, Path state, OpenSshServer sshd) {
        if (sshd == null) {
            return Cli.sync(source, replica, state);
        }
        List<String> args = new java.util.ArrayList<>(List.of("sync", source.toString(), sshd.url(replica),
                "--state-dir", state.toString()));
        args.addAll(sshd.sshArgs());
        return Cli.run(args.toArray(String[]::new));
    }

    @ParameterizedTest(name = "over ssh: {0}")
    @ValueSource(booleans = {false, true})
    void fullDiskFailsCleanlyAndLosesNothing(boolean overSsh) throws Exception {
        try (OpenSshServer sshd = overSsh ? OpenSshServer.start(dir.resolve("sshd"), null) : null) {
            fullDisk(sshd);
        }
    }

    private void fullDisk(OpenSshServer sshd) throws Exception {
        Path source = Images.createRandom(dir.resolve("vm.img"), 28 * MIB, 1);
        Path replica = mount.resolve("replica.img");
        Path state = dir.resolve("state");
        assertEquals(0, sync(source, replica, state, sshd).exit());
        String previous = Images.sha256(replica);

        // Rewrite 24 MiB: the journal needs 24 MiB beside a 28 MiB replica on a 48 MiB filesystem.
        try (var ch = java.nio.channels.FileChannel.open(source, java.nio.file.StandardOpenOption.WRITE)) {
            Images.writeRandom(ch, 0, 24 * MIB, new java.util.SplittableRandom(2));
        }
        Cli.Result full = sync(source, replica, state, sshd);
        assertEquals(ExitStatus.DESTINATION.code(), full.exit(), full.err());
        assertTrue(full.err().contains("No space left"), full.err());
        assertEquals(1, full.err().strip().lines().count(), full.err());
        assertEquals(previous, Images.sha256(replica));
        try (var files = Files.list(mount)) {
            assertEquals(List.of(replica.getFileName().toString()),
                    files.map(p -> p.getFileName().toString()).filter(n -> !n.equals("lost+found")
                            && !n.endsWith(".standin-sigs") && !n.endsWith(".standin-lock")
                            && !n.endsWith(".standin-points")).toList());
        }

        // A first copy that cannot fit is refused before anything is written.
        Cli.Result second = sync(source, mount.resolve("another.img"), state, sshd);
        assertEquals(ExitStatus.DESTINATION.code(), second.exit(), second.err());
        assertTrue(Files.notExists(mount.resolve("another.img")));
        assertTrue(Files.notExists(mount.resolve(".another.img.standin-partial")));

        // The operator moves the replica to roomier storage; the cycle then completes.
        Path roomy = dir.resolve("replica.img");
        Files.copy(replica, roomy);
        Cli.Result done = sync(source, roomy, state, sshd);
        assertEquals(0, done.exit(), done.err());
        assertEquals(Images.sha256(source), Images.sha256(roomy));
    }
}
