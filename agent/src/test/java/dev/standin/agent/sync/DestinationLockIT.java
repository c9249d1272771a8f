package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-cycle-per-destination lock against a lock held by another process (fcntl locks are per process). */
class DestinationLockIT {

    @TempDir
    Path dir;

    /** Another JVM that takes the lock file's fcntl lock, says so, and keeps it for {@code millis}. */
    private Process holder(Path lockFile, long millis) throws Exception {
        Path source = dir.resolve("Hold.java");
        Files.writeString(source, String.join("\n",
                "import java.nio.channels.FileChannel;",
                "import java.nio.file.*;",
                "public class Hold {",
                "  public static void main(String[] a) throws Exception {",
                "    try (FileChannel c = FileChannel.open(Path.of(a[0]), StandardOpenOption.CREATE, StandardOpenOption.WRITE);",
                "         var lock = c.lock()) {",
                "      System.out.println(\"locked\");",
                "      System.out.flush();",
                "      Thread.sleep(Long.parseLong(a[1]));",
                "    }",
                "  }",
                "}"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                source.toString(), lockFile.toString(), Long.toString(millis)).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("locked", out.readLine());
        return p;
    }

    @Test
    void aLockHeldLongerThanThePatienceIsRefusedInOneLine() throws Exception {
        Path replica = dir.resolve("vm.img");
        Process p = holder(dir.resolve(".vm.img.standin-lock"), 60_000);
        try {
            long started = System.nanoTime();
            StandinException e = assertThrows(StandinException.class,
                    () -> DestinationLock.acquire(replica, Duration.ofMillis(600)));
            assertEquals(ExitStatus.DESTINATION, e.status());
            assertTrue(e.getMessage().contains("another standin is already syncing"), e.getMessage());
            assertTrue(System.nanoTime() - started >= Duration.ofMillis(600).toNanos(), "it waited first");
        } finally {
            p.destroy();
            p.waitFor();
        }
    }

    @Test
    void aLockReleasedWithinThePatienceIsTaken() throws Exception {
        Path replica = dir.resolve("vm.img");
        Process p = holder(dir.resolve(".vm.img.standin-lock"), 500);
        try (DestinationLock lock = DestinationLock.acquire(replica, Duration.ofSeconds(20))) {
            assertTrue(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
        }
    }
}
