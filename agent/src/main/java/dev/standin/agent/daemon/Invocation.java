package dev.standin.agent.daemon;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import dev.standin.agent.transport.WarmChannels;
import dev.standin.supervisor.Supervisor;

/**
 * Where one run of the command line takes its input, puts its output, and resolves relative paths:
 * this process's own, or those of a client the resident agent runs the command for
 * (docs/agent.md). Commands reach the world only through it, so that several can run in one JVM.
 *
 * @param stdin standard input (the protocol stream of {@code standin serve})
 * @param stdout standard output as bytes (the protocol stream of {@code standin serve})
 * @param out standard output as text
 * @param err standard error
 * @param workingDirectory what relative paths are resolved against; empty: this process's
 * @param environment the variables commands read ({@code SSH_ORIGINAL_COMMAND})
 * @param terminal whether standard error is a terminal (progress bars are drawn only there)
 * @param warmChannels serve channels the resident agent keeps greeted between cycles; empty in a
 *     process of its own, which ends with its cycle
 * @param supervisor the resident agent's supervisor, for {@code status}, {@code run}, {@code pause}...;
 *     empty in a process of its own
 */
public record Invocation(InputStream stdin, OutputStream stdout, PrintWriter out, PrintWriter err,
        Optional<Path> workingDirectory, Map<String, String> environment, boolean terminal,
        Optional<WarmChannels> warmChannels, Optional<Supervisor> supervisor) {

    public Invocation {
        Objects.requireNonNull(stdin, "stdin");
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(err, "err");
        Objects.requireNonNull(workingDirectory, "workingDirectory");
        Objects.requireNonNull(warmChannels, "warmChannels");
        Objects.requireNonNull(supervisor, "supervisor");
        environment = Map.copyOf(environment);
    }

    /** This process's standard streams, working directory and environment. */
    public static Invocation ofProcess() {
        return ofProcess(new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    }

    /** This process's, with text output going to {@code out} and {@code err}. */
    public static Invocation ofProcess(PrintWriter out, PrintWriter err) {
        return new Invocation(new FileInputStream(FileDescriptor.in), new FileOutputStream(FileDescriptor.out), out, err,
                Optional.empty(), System.getenv(), System.console() != null, Optional.empty(),
                Optional.empty());
    }

    /** {@code path} as this run's user meant it: relative ones against their working directory. */
    public Path resolve(String path) {
        Path p = Path.of(path);
        return p.isAbsolute() ? p : workingDirectory.map(d -> d.resolve(p)).orElse(p);
    }

    public Optional<String> variable(String name) {
        return Optional.ofNullable(environment.get(name));
    }

    /** Standard error as a stream, for libraries that want one (the progress bar). */
    public PrintStream errStream() {
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                err.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                err.write(new String(b, off, len, StandardCharsets.UTF_8));
            }

            @Override
            public void flush() {
                err.flush();
            }
        }, true, StandardCharsets.UTF_8);
    }
}
