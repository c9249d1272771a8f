package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A key restricted in authorized_keys to {@code command="standin serve --root ROOT",restrict}:
 * the sender may reach replicas under ROOT, by absolute or relative path, and nothing else.
 */
class ForcedCommandIT {

    @TempDir
    static Path shared;

    static OpenSshServer sshd;
    static Path root;

    @TempDir
    Path dir;

    @BeforeAll
    static void startSshd() throws Exception {
        root = Files.createDirectories(shared.resolve("replicas"));
        Path sshdDir = shared.resolve("sshd");
        sshd = OpenSshServer.start(sshdDir, sshdDir.resolve("standin") + " serve --root " + root);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        sshd.close();
    }

    private Cli.Result sync(Path source, String destination) {
        List<String> args = new ArrayList<>(List.of("sync", source.toString(), destination, "--json",
                "--state-dir", dir.resolve("state").toString()));
        args.addAll(sshd.sshArgs());
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void replicasInsideTheRootAreReachable() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 4 << 20, 1);
        Files.createDirectories(root.resolve("vm7"));
        Cli.Result r = sync(source, sshd.url(root.resolve("vm7/disk0.img")));
        assertEquals(0, r.exit(), r.err());
        assertEquals(Images.sha256(source), Images.sha256(root.resolve("vm7/disk0.img")));
        // ssh://host/vm7/disk1.img names /vm7, which is outside the root even though ROOT/vm7 exists
        Cli.Result absolute = Cli.run(withArgs(source, "ssh://" + System.getProperty("user.name") + "@127.0.0.1:"
                + sshd.port() + "/vm7/disk1.img"));
        assertEquals(4, absolute.exit(), absolute.err());
        assertTrue(absolute.err().contains("no such directory"), absolute.err());
    }

    @Test
    void aDestinationOutsideTheRootIsRefusedAndNothingIsWritten() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 2);
        Path outside = Files.createDirectories(dir.resolve("elsewhere"));
        for (String target : List.of(outside.resolve("x.img").toString(), root + "/../x.img")) {
            Cli.Result r = Cli.run(withArgs(source, "ssh://" + System.getProperty("user.name") + "@127.0.0.1:"
                    + sshd.port() + target));
            assertEquals(5, r.exit(), target + ": " + r.err());
            assertTrue(r.err().contains("outside the root"), r.err());
            assertEquals(1, r.err().strip().split("\n").length, r.err());
        }
        try (var files = Files.list(outside)) {
            assertEquals(0, files.count());
        }
        assertTrue(Files.notExists(root.resolveSibling("x.img")));
    }

    private String[] withArgs(Path source, String destination) {
        List<String> args = new ArrayList<>(List.of("sync", source.toString(), destination, "--json",
                "--state-dir", dir.resolve("state").toString()));
        args.addAll(sshd.sshArgs());
        return args.toArray(String[]::new);
    }
}
