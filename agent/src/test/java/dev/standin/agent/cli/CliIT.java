package dev.standin.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.failure.ExitStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input gets one clear line on stderr, a named exit status, and leaves the replica alone. */
class CliIT {

    @TempDir
    Path dir;

    private static void assertOneLine(Cli.Result r, String expected) {
        String err = r.err().strip();
        assertTrue(err.startsWith("standin: "), err);
        assertTrue(err.contains(expected), err);
        assertEquals(1, err.lines().filter(l -> !l.startsWith("Try ")).count(), err);
    }

    @Test
    void missingSourceIsASourceError() {
        Cli.Result r = Cli.run("sync", dir.resolve("nope.img").toString(), dir.resolve("r.img").toString());
        assertEquals(ExitStatus.SOURCE.code(), r.exit());
        assertOneLine(r, "nope.img");
        assertTrue(r.err().contains("No such file or directory"), r.err());
    }

    @Test
    void missingDestinationDirectoryIsADestinationError() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 1);
        Cli.Result r = Cli.run("sync", source.toString(), dir.resolve("no/such/dir/r.img").toString());
        assertEquals(ExitStatus.DESTINATION.code(), r.exit());
        assertOneLine(r, "does not exist");
    }

    @Test
    void badOptionValuesAreUsageErrors() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 2);
        Path replica = dir.resolve("r.img");
        Cli.Result r = Cli.run("sync", source.toString(), replica.toString(), "--block-size", "3000");
        assertEquals(ExitStatus.USAGE.code(), r.exit());
        assertOneLine(r, "power of two");
        r = Cli.run("sync", source.toString(), replica.toString(), "--compress", "brotli");
        assertEquals(ExitStatus.USAGE.code(), r.exit());
        assertOneLine(r, "unknown compression");
        r = Cli.run("sync", source.toString());
        assertEquals(ExitStatus.USAGE.code(), r.exit());
        assertTrue(Files.notExists(replica));
    }

    @Test
    void directoryAsSourceIsRefused() {
        Cli.Result r = Cli.run("sync", dir.toString(), dir.resolve("r.img").toString());
        assertEquals(ExitStatus.SOURCE.code(), r.exit());
        assertOneLine(r, "directory");
    }

    @Test
    void aDestinationThatIsTheSourceIsRefusedAndNothingIsWrittenBesideIt() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 3);
        String before = Images.sha256(source);
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), source);
        for (Path same : List.of(source, link, dir.resolve("./sub/../vm.img"))) {
            Files.createDirectories(dir.resolve("sub"));
            Cli.Result r = Cli.run("sync", source.toString(), same.toString(), "--state-dir", dir.resolve("s").toString());
            assertEquals(ExitStatus.USAGE.code(), r.exit(), r.err());
            assertOneLine(r, "are the same image");
        }
        Cli.Result intoItsOwnDirectory = Cli.run("sync", source.toString(), Images.create(dir.resolve("b.img"), 4096, 1)
                .toString(), dir.toString());
        assertEquals(ExitStatus.USAGE.code(), intoItsOwnDirectory.exit(), intoItsOwnDirectory.err());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.map(p -> p.getFileName().toString()).filter(n -> n.contains("standin")).toList());
        }
        assertEquals(before, Images.sha256(source));
    }

    @Test
    void withVerboseAFailedCycleEndsWithItsErrorNotWithDone() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 4);
        Cli.Result failed = Cli.run("sync", source.toString(), dir.resolve("no/such/dir/r.img").toString(), "-v");
        assertEquals(ExitStatus.DESTINATION.code(), failed.exit());
        assertFalse(failed.err().contains("done after"), failed.err());
        assertTrue(failed.err().strip().lines().reduce((a, b) -> b).orElseThrow().contains("does not exist"),
                failed.err());
        Cli.Result done = Cli.run("sync", source.toString(), dir.resolve("r.img").toString(), "-v",
                "--state-dir", dir.resolve("state").toString());
        assertEquals(0, done.exit(), done.err());
        assertTrue(done.err().strip().lines().reduce((a, b) -> b).orElseThrow().startsWith("standin: done after"),
                done.err());
    }

    @Test
    void aCharacterDeviceOrFifoIsNotASource() throws Exception {
        Cli.Result r = Cli.run("sync", "/dev/null", dir.resolve("r.img").toString());
        assertEquals(ExitStatus.SOURCE.code(), r.exit(), r.err());
        assertOneLine(r, "/dev/null is a character device, not a disk image");
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        r = Cli.run("sync", fifo.toString(), dir.resolve("r.img").toString());
        assertEquals(ExitStatus.SOURCE.code(), r.exit(), r.err());
        assertOneLine(r, "is a FIFO");
        assertTrue(Files.notExists(dir.resolve("r.img")));
    }

    @Test
    void versionNamesTheBlockHashImplementation() {
        Cli.Result r = Cli.run("--version");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("block hash: XXH3-64 by libxxhash"), r.out()); // setup-debian.sh installs it
    }

    @Test
    void everySubcommandPrintsTheVersion() {
        String version = Cli.run("--version").out();
        for (String command : List.of("sync", "serve", "verify", "points", "restore", "agent")) {
            Cli.Result r = Cli.run(command, "--version");
            assertEquals(0, r.exit(), command);
            assertEquals(version, r.out(), command);
        }
    }

    @Test
    void syncUsageNamesSourcesThenTheDestinationOnce() {
        String usage = Cli.run("sync", "--help").out();
        assertTrue(usage.contains("SOURCE... DEST"), usage);
        assertFalse(usage.contains("DEST SOURCE"), usage);
    }

    @Test
    void helpListsExitStatuses() {
        Cli.Result r = Cli.run("--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("EXIT STATUS") && r.out().contains("sync"), r.out());
        Cli.Result sync = Cli.run("sync", "--help");
        assertTrue(sync.out().contains("--block-size") && sync.out().contains("--dry-run"), sync.out());
    }
}
