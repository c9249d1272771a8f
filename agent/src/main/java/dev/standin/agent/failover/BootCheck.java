package dev.standin.agent.failover;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Watches a started VM until {@link BootRule} gives a verdict: what its {@link Machine} reports
 * (a panic, an I/O error, a power-off), the serial console (a login prompt, or a kernel panic
 * printed there), and the guest agent, asked every few seconds. Leaves a screendump
 * ({@code screen.png}) beside the console as evidence.
 */
public final class BootCheck {

    /** What a person at a console would wait for; {@code --prompt} replaces it. */
    public static final Pattern DEFAULT_PROMPT = Pattern.compile("(?m)login: *$");
    private static final Pattern PANIC = Pattern.compile("Kernel panic - not syncing[^\\r\\n]*");
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration AGENT_EVERY = Duration.ofSeconds(3);

    /** The verdict, its reason, how long it took, and where the evidence is. */
    public record Result(BootVerdict verdict, String reason, Duration elapsed, Optional<String> operatingSystem,
            Path console, Optional<Path> screen) { }

    private final BootRule rule;
    private final Pattern prompt;

    public BootCheck(BootRule rule, Pattern prompt) {
        this.rule = rule;
        this.prompt = prompt;
    }

    public Result watch(Machine machine) throws InterruptedException {
        long start = System.nanoTime();
        Optional<String> failure = Optional.empty();
        Optional<String> agent = Optional.empty();
        Optional<Duration> promptAfter = Optional.empty();
        long nextAgentTry = start;
        StringBuilder console = new StringBuilder();
        long consoleRead = 0;
        while (true) {
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            if (failure.isEmpty()) {
                failure = machine.failure();
            }
            consoleRead = readConsole(machine.console(), consoleRead, console);
            if (failure.isEmpty()) {
                java.util.regex.Matcher panic = PANIC.matcher(console);
                if (panic.find()) {
                    failure = Optional.of("the console shows: " + panic.group().strip());
                }
            }
            if (promptAfter.isEmpty() && prompt.matcher(console).find()) {
                promptAfter = Optional.of(elapsed);
            }
            if (failure.isEmpty() && agent.isEmpty() && System.nanoTime() >= nextAgentTry) {
                agent = machine.askAgent();
                nextAgentTry = System.nanoTime() + AGENT_EVERY.toNanos();
            }
            elapsed = Duration.ofNanos(System.nanoTime() - start);
            Optional<BootRule.Decision> decision = rule.decide(new BootRule.Seen(failure, agent, promptAfter,
                    elapsed));
            if (decision.isPresent()) {
                Optional<Path> screen = machine.screendump(machine.console().resolveSibling("screen.png"));
                return new Result(decision.get().verdict(), decision.get().reason(), elapsed, agent,
                        machine.console(), screen);
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    /** Appends what the console file gained since {@code offset}; returns the new offset. */
    private static long readConsole(Path file, long offset, StringBuilder into) {
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            long length = in.length();
            if (length <= offset) {
                return offset;
            }
            byte[] bytes = new byte[(int) Math.min(length - offset, 1 << 20)];
            in.seek(offset);
            in.readFully(bytes);
            into.append(new String(bytes, StandardCharsets.UTF_8).replace("\r", ""));
            if (into.length() > 256 << 10) {
                into.delete(0, into.length() - (128 << 10)); // a prompt or panic is in the last lines
            }
            return offset + bytes.length;
        } catch (IOException e) {
            return offset; // not created yet
        }
    }
}
