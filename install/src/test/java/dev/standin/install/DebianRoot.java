package dev.standin.install;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A clean Debian 12 root unpacked from install/test-root.sh's tar, and commands run inside it
 * through chroot. Each command runs in a mount namespace of its own ({@code unshare --mount
 * --fork}) with /proc mounted there, so no mount outlives the command, even a killed one.
 */
final class DebianRoot {

    static final Path TARBALL = Path.of(System.getProperty("standin.test-root",
            "/var/cache/standin/test-root/bookworm-minbase.tar"));

    private final Path dir;

    private DebianRoot(Path dir) {
        this.dir = dir;
    }

    static DebianRoot unpack(Path dir) throws Exception {
        assertTrue(Files.isRegularFile(TARBALL), TARBALL + " is missing: run install/test-root.sh (setup-debian.sh does)");
        Result untar = run(List.of("tar", "-C", dir.toString(), "-xf", TARBALL.toString()), 300);
        assertEquals(0, untar.exit(), untar.output());
        Files.copy(Path.of("/etc/resolv.conf"), dir.resolve("etc/resolv.conf"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return new DebianRoot(dir);
    }

    Path dir() {
        return dir;
    }

    /** A host path inside the root, e.g. {@code path("/etc/standin")}. */
    Path path(String absolute) {
        return dir.resolve(absolute.substring(1));
    }

    /** {@code script} run by sh inside the root, non-interactive for apt and debconf. */
    Result sh(String script) throws Exception {
        String inside = "mount -t proc proc \"$1/proc\" && exec chroot \"$1\" /usr/bin/env -i "
                + "PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "
                + "/bin/sh -c \"$2\"";
        return run(List.of("unshare", "--mount", "--propagation", "private", "--fork", "--kill-child", "--", "sh", "-c", inside,
                "sh", dir.toString(), script), 600);
    }

    /** {@code sh}, which must succeed: its output. */
    String ok(String script) throws Exception {
        Result result = sh(script);
        assertEquals(0, result.exit(), "in the root: " + script + "\n" + result.output());
        return result.output();
    }

    record Result(int exit, String output) {}

    static Result run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        process.getOutputStream().close();
        byte[][] output = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                output[0] = process.getInputStream().readAllBytes();
            } catch (IOException e) {
                output[0] = e.toString().getBytes(StandardCharsets.UTF_8);
            }
        });
        reader.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            reader.join();
            throw new AssertionError(command + " still running after " + timeoutSeconds + " s:\n"
                    + new String(output[0], StandardCharsets.UTF_8));
        }
        reader.join();
        return new Result(process.exitValue(), new String(output[0], StandardCharsets.UTF_8));
    }
}
