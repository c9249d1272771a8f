package dev.standin.snapshot.libvirt;

import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.SnapshotException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One libvirt connection as {@code virsh -c URI} reaches it: the one place standin runs virsh. A
 * failure carries virsh's own message, on one line.
 */
public final class Libvirt {

    /** libvirt's system instance, where hypervisor hosts keep their VMs. */
    public static final String DEFAULT_URI = "qemu:///system";

    private final String uri;
    private final CommandRunner commands;
    private final Duration timeout;

    public Libvirt(String uri, CommandRunner commands, Duration timeout) {
        this.uri = uri;
        this.commands = commands;
        this.timeout = timeout;
    }

    public String uri() {
        return uri;
    }

    /**
     * Runs {@code virsh -q -c URI ARGS...}; its standard output. A failure is permanent only when
     * virsh is missing; libvirt's own refusals may pass (a domain defined again, a job ended).
     */
    public String run(String... args) throws SnapshotException {
        List<String> command = new ArrayList<>(List.of("virsh", "-q", "-c", uri));
        command.addAll(List.of(args));
        CommandRunner.Result result;
        try {
            result = commands.run(command, timeout);
        } catch (IOException e) {
            throw new SnapshotException("virsh is not installed (apt install libvirt-clients)", true, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SnapshotException("interrupted while running virsh " + args[0], false, e);
        }
        if (result.timedOut()) {
            throw new SnapshotException("virsh " + args[0] + " did not finish in " + timeout.toSeconds()
                    + " s (is libvirtd at " + uri + " hung?)", false);
        }
        if (!result.ok()) {
            String message = result.stderr().strip().replaceAll("(?m)^error: ", "").replaceAll("\\s*\n\\s*", "; ");
            throw new SnapshotException("libvirt (" + uri + "): " + args[0] + ": "
                    + (message.isEmpty() ? "exit " + result.exit() : message), false);
        }
        return result.stdout();
    }

    /** The domain's state as {@code virsh domstate} words it: {@code running}, {@code shut off}, ... */
    public String state(String domain) throws SnapshotException {
        return run("domstate", domain).strip();
    }
}
