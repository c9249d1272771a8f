package dev.standin.snapshot;

import dev.standin.nativeio.NativeIo;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A stand-in for an agent that dies mid-cycle: takes a snapshot in its own JVM, says where it
 * stopped, and waits to be killed. Arguments: STATE_DIR SPEC SOURCE HANG_AT_STEP ("taken" hangs
 * after take() returns).
 */
public final class HookProcess {

    public static void main(String[] args) throws Exception {
        Path state = Path.of(args[0]);
        String hangAt = args[3];
        HookContext context = HookContext.of(state, NativeIo.tryLoad()).withCheckpoints(step -> {
            if (step.equals(hangAt)) {
                hang("AT " + step);
            }
        });
        Snapshot snapshot = new SnapshotHooks(context, Optional.empty()).create(SnapshotSpec.parse(args[1]))
                .take(Path.of(args[2]), "k1");
        hang("AT taken " + snapshot.view());
    }

    private static void hang(String message) {
        System.out.println(message);
        System.out.flush();
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The command that runs this class in a new JVM with the tests' class path. */
    public static List<String> command(Path state, String spec, Path source, String hangAt) {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), HookProcess.class.getName(),
                state.toString(), spec, source.toString(), hangAt);
    }

    /** Starts the process and waits until it prints the line starting with {@code AT}. */
    public static Process startAndWait(Path state, String spec, Path source, String hangAt) throws Exception {
        Process process = new ProcessBuilder(command(state, spec, source, hangAt)).redirectErrorStream(true).start();
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream()));
        StringBuilder seen = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            seen.append(line).append('\n');
            if (line.startsWith("AT ")) {
                return process;
            }
        }
        throw new IllegalStateException("hook process ended before reaching " + hangAt + ":\n" + seen);
    }
}
