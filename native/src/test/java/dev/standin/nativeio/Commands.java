package dev.standin.nativeio;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Runs external tools for tests: argument lists only (no shell), a hard timeout, and a clear
 * "install package X" failure when the tool is missing.
 */
final class Commands {

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private Commands() {
    }

    record Result(List<String> command, int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }

        String describe() {
            return String.join(" ", command) + " exited " + exitCode + "\nstdout: " + stdout.strip() + "\nstderr: " + stderr.strip();
        }
    }

    /** Absolute path of {@code tool}, or a test failure naming the apt package that provides it. */
    static String require(String tool, String aptPackage) {
        Set<String> dirs = new LinkedHashSet<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty()) {
                dirs.add(dir);
            }
        }
        // root's tools live in sbin, which a CI user's PATH may lack
        dirs.addAll(List.of("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        for (String dir : dirs) {
            Path candidate = Path.of(dir, tool);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return fail("'" + tool + "' is not installed: apt-get install -y " + aptPackage);
    }

    /** Runs the command and returns whatever happened; fails the test only on timeout. */
    static Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        List<String> args = List.of(command);
        // Output goes to files rather than pipes so a chatty tool cannot block on a full pipe.
        Path out = Files.createTempFile("standin-cmd", ".out");
        Path err = Files.createTempFile("standin-cmd", ".err");
        try {
            Process process = new ProcessBuilder(new ArrayList<>(args))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                fail(String.join(" ", args) + " did not finish within " + timeout);
            }
            return new Result(args, process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static Result run(String... command) throws IOException, InterruptedException {
        return run(DEFAULT_TIMEOUT, command);
    }

    /** Runs the command and fails the test, with its output, unless it exits 0; returns stdout. */
    static String check(String... command) throws IOException, InterruptedException {
        Result result = run(command);
        if (!result.ok()) {
            fail(result.describe());
        }
        return result.stdout();
    }

    /** Fails with a clear message unless running as root (loop devices, mount, mkfs, FIFREEZE). */
    static void requireRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                if (!line.split("\\s+")[1].equals("0")) {
                    fail("this test needs root (loop devices, mount, mkfs, FIFREEZE); run as root or skip "
                            + "the @Tag(\"root\") tests with -DexcludedGroups=root");
                }
                return;
            }
        }
        fail("cannot read Uid from /proc/self/status");
    }
}
