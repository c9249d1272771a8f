package dev.standin.snapshot;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs external commands from argument lists (never shell strings) with a time limit. A command
 * that overruns is killed with its whole process tree, so a hung {@code lvcreate} or pre-snapshot
 * script cannot hold the cycle forever.
 */
public final class CommandRunner {

    /** How a command ended. {@code exit} is -1 when it was killed for overrunning. */
    public record Result(List<String> command, int exit, String stdout, String stderr, boolean timedOut) {

        public boolean ok() {
            return exit == 0 && !timedOut;
        }

        /** One line for an error message: the command, how it ended, and the end of its stderr. */
        public String describe() {
            String how = timedOut ? "timed out and was killed" : "exited with status " + exit;
            String err = stderr.strip();
            if (err.length() > 400) {
                err = "..." + err.substring(err.length() - 400);
            }
            return String.join(" ", command) + " " + how + (err.isEmpty() ? "" : ": " + err);
        }
    }

    public Result run(List<String> command, Duration timeout) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        Drain out = new Drain(process.getInputStream());
        Drain err = new Drain(process.getErrorStream());
        out.start();
        err.start();
        boolean finished;
        try {
            finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            kill(process);
            throw e;
        }
        if (!finished) {
            kill(process);
        }
        out.join(2000);
        err.join(2000);
        return new Result(List.copyOf(command), finished ? process.exitValue() : -1, out.text(), err.text(), !finished);
    }

    /** Like {@link #run} but fails unless the command exits 0. */
    public Result check(List<String> command, Duration timeout) throws IOException, InterruptedException {
        Result result = run(command, timeout);
        if (!result.ok()) {
            throw new IOException(result.describe());
        }
        return result;
    }

    private static void kill(Process process) throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
    }

    /** Reads a pipe to the end on its own thread, so a chatty command cannot block on a full pipe. */
    private static final class Drain extends Thread {
        private final InputStream in;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Drain(InputStream in) {
            this.in = in;
            setDaemon(true);
        }

        @Override
        public void run() {
            try (in) {
                in.transferTo(bytes);
            } catch (IOException e) {
                // the process was killed; what was read so far is kept
            }
        }

        synchronized String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }
}
