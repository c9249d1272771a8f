package dev.standin.supervisor;

import dev.standin.supervisor.policy.Health;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code on-health-change} for one change: the program with STANDIN_VM, STANDIN_TARGET,
 * STANDIN_HEALTH, STANDIN_PREVIOUS and STANDIN_REASON in its environment, its output in the
 * log, killed after {@code timeout}. Its failure is logged and changes nothing else.
 */
final class HealthHook {

    private final String program;
    private final Duration timeout;
    private final SupervisorLog log;

    HealthHook(String program, Duration timeout, SupervisorLog log) {
        this.program = program;
        this.timeout = timeout;
        this.log = log;
    }

    void run(String vm, String target, Health health, Health previous, String reason) {
        ProcessBuilder builder = new ProcessBuilder(List.of(program)).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.put("STANDIN_VM", vm);
        env.put("STANDIN_TARGET", target);
        env.put("STANDIN_HEALTH", health.label());
        env.put("STANDIN_PREVIOUS", previous.label());
        env.put("STANDIN_REASON", reason);
        try {
            Process p = builder.start();
            p.getOutputStream().close();
            Thread drain = new Thread(() -> {
                try (var lines = p.inputReader().lines()) {
                    lines.limit(100).forEach(l -> log.info("on-health-change: " + l));
                } catch (java.io.UncheckedIOException ignored) {
                    // the program was killed
                }
            }, "standin-health-hook-output");
            drain.setDaemon(true);
            drain.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                log.warning("on-health-change " + program + " for " + vm + " " + target + " did not end within "
                        + timeout.toSeconds() + " s and was killed");
            } else if (p.exitValue() != 0) {
                log.warning("on-health-change " + program + " for " + vm + " " + target + " exited with status "
                        + p.exitValue());
            }
        } catch (IOException e) {
            log.warning("on-health-change " + program + " could not be run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
