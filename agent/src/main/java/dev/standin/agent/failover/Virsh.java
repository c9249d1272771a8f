package dev.standin.agent.failover;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.snapshot.CommandRunner;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * libvirt through {@code virsh -c URI}: the one place standin talks to libvirt (reading a
 * domain's definition on the source host; starting, watching and stopping a failed-over domain).
 * A failure carries virsh's own one-line message.
 */
public final class Virsh {

    /** libvirt's system instance, where hypervisor hosts keep their VMs. */
    public static final String DEFAULT_URI = "qemu:///system";
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private final String uri;
    private final CommandRunner commands = new CommandRunner();

    public Virsh(String uri) {
        this.uri = uri;
    }

    public String uri() {
        return uri;
    }

    /**
     * The persistent definition of {@code domain} as the source host has it (inactive: without the
     * runtime state of a running domain), security labels included.
     */
    public String definition(String domain) throws StandinException {
        return run("dumpxml", "--inactive", "--security-info", domain);
    }

    /** Runs {@code virsh -c URI ARGS...}; its standard output, or its message as the failure. */
    public String run(String... args) throws StandinException {
        List<String> command = new ArrayList<>(List.of("virsh", "-q", "-c", uri));
        command.addAll(List.of(args));
        CommandRunner.Result result;
        try {
            result = commands.run(command, TIMEOUT);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.MISSING, "virsh is not installed (apt install libvirt-clients)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StandinException(ExitStatus.INTERRUPTED, "interrupted while running virsh " + args[0], e);
        }
        if (result.timedOut()) {
            throw new StandinException(ExitStatus.DESTINATION, "virsh " + args[0] + " did not finish in "
                    + TIMEOUT.toSeconds() + " s (is libvirtd at " + uri + " hung?)");
        }
        if (!result.ok()) {
            String message = result.stderr().strip().replaceAll("(?m)^error: ", "").replaceAll("\\s*\n\\s*", "; ");
            throw new StandinException(ExitStatus.DESTINATION, "libvirt (" + uri + "): " + args[0] + ": "
                    + (message.isEmpty() ? "exit " + result.exit() : message));
        }
        return result.stdout();
    }
}
