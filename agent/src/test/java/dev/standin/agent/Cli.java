package dev.standin.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.agent.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs the standin command line in this JVM and captures what it says. */
public final class Cli {

    public record Result(int exit, String out, String err) {
        public JsonNode json() throws IOException {
            return new ObjectMapper().readTree(out);
        }
    }

    private Cli() {}

    public static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(exit, out.toString(), err.toString());
    }

    /** {@code standin sync SOURCE DEST --json ARGS...}, with journals kept under {@code state}. */
    public static Result sync(Path source, Path destination, Path state, String... extra) {
        List<String> args = new ArrayList<>(List.of("sync", source.toString(), destination.toString(), "--json",
                "--state-dir", state.toString()));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    /**
     * {@code standin ARGS...} in a JVM of its own, as a person's shell runs it, asking the agent
     * that listens on {@code socket}; it must end within {@code limit}.
     */
    public static Result askingAgent(Path socket, java.time.Duration limit, String... args)
            throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(javaCommand("128m", args));
        builder.environment().put(dev.standin.agent.daemon.AgentSocket.VARIABLE, socket.toString());
        builder.environment().remove("SSH_AUTH_SOCK");
        Process p = builder.start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("standin " + String.join(" ", args) + " did not end within " + limit);
        }
        return new Result(p.exitValue(), new String(out, java.nio.charset.StandardCharsets.UTF_8),
                new String(err, java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The command to start standin in a separate JVM with this test's class path. */
    public static List<String> javaCommand(String maxHeap, String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + maxHeap,
                "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(List.of(args));
        return command;
    }
}
