package dev.standin.agent.failover;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.snapshot.qemu.GuestAgent;
import dev.standin.snapshot.qemu.QmpClient;
import dev.standin.snapshot.qemu.QmpException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Watches a started VM until {@link BootRule} gives a verdict: the QEMU monitor's events (a
 * {@code GUEST_PANICKED} from pvpanic, a {@code BLOCK_IO_ERROR}, a {@code SHUTDOWN}) and status,
 * the serial console (a login prompt, or a kernel panic printed there), and the guest agent, asked
 * every few seconds for {@code guest-ping} and {@code guest-get-osinfo}. Leaves a screendump
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

    public Result watch(QemuMachine machine) throws InterruptedException {
        long start = System.nanoTime();
        Optional<String> failure = Optional.empty();
        Optional<String> agent = Optional.empty();
        Optional<Duration> promptAfter = Optional.empty();
        long nextAgentTry = start;
        StringBuilder console = new StringBuilder();
        long consoleRead = 0;
        QmpClient qmp = null;
        try {
            while (true) {
                Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
                if (qmp == null && failure.isEmpty()) {
                    try {
                        qmp = machine.connect();
                    } catch (QmpException e) {
                        if (machine.process().isEmpty()) {
                            failure = Optional.of("QEMU is gone: " + e.getMessage());
                        }
                    }
                }
                if (qmp != null && failure.isEmpty()) {
                    failure = failureIn(qmp, machine);
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
                    agent = askAgent(machine);
                    nextAgentTry = System.nanoTime() + AGENT_EVERY.toNanos();
                }
                elapsed = Duration.ofNanos(System.nanoTime() - start);
                Optional<BootRule.Decision> decision = rule.decide(new BootRule.Seen(failure, agent, promptAfter,
                        elapsed));
                if (decision.isPresent()) {
                    Optional<Path> screen = qmp == null ? Optional.empty() : screendump(qmp, machine);
                    return new Result(decision.get().verdict(), decision.get().reason(), elapsed, agent,
                            machine.console(), screen);
                }
                Thread.sleep(POLL.toMillis());
            }
        } finally {
            if (qmp != null) {
                qmp.close();
            }
        }
    }

    /** A monitor event or status that means the boot failed. */
    private static Optional<String> failureIn(QmpClient qmp, QemuMachine machine) {
        for (JsonNode event : qmp.eventsSoFar()) {
            String name = event.path("event").asText();
            switch (name) {
                case "GUEST_PANICKED":
                    return Optional.of("the guest kernel panicked (GUEST_PANICKED)");
                case "BLOCK_IO_ERROR":
                    return Optional.of("an I/O error on disk " + event.path("data").path("device").asText()
                            + event.path("data").path("node-name").asText() + " ("
                            + event.path("data").path("reason").asText("BLOCK_IO_ERROR") + ")");
                case "SHUTDOWN":
                    return Optional.of("the guest shut down or reset during its boot ("
                            + event.path("data").path("reason").asText() + ")");
                default:
                    break;
            }
        }
        try {
            String status = qmp.execute("query-status", null).path("status").asText();
            if (status.equals("guest-panicked") || status.equals("io-error") || status.equals("internal-error")
                    || status.equals("shutdown")) {
                return Optional.of("QEMU reports the VM " + status);
            }
        } catch (QmpException e) {
            if (machine.process().isEmpty()) {
                return Optional.of("QEMU is gone: " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    private static Optional<String> askAgent(QemuMachine machine) {
        try (GuestAgent agent = GuestAgent.connect(machine.guestAgent(), Duration.ofSeconds(2))) {
            agent.ping();
            JsonNode os = agent.osInfo();
            String name = os.path("pretty-name").asText(os.path("name").asText("an operating system"));
            return Optional.of(name + " (kernel " + os.path("kernel-release").asText("?") + ")");
        } catch (QmpException e) {
            return Optional.empty(); // not up yet, or no agent in this guest
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
            return offset; // QEMU has not created it yet
        }
    }

    private static Optional<Path> screendump(QmpClient qmp, QemuMachine machine) {
        Path screen = machine.run().resolve("screen.png");
        try {
            Files.deleteIfExists(screen);
            qmp.execute("screendump", QmpClient.args().put("filename", screen.toString()).put("format", "png"));
            return Files.exists(screen) ? Optional.of(screen) : Optional.empty();
        } catch (QmpException | IOException e) {
            return Optional.empty(); // evidence only: a VM without a display has none
        }
    }
}
