package dev.standin.agent.failover;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.CommandRunner;
import dev.standin.snapshot.SnapshotException;
import dev.standin.snapshot.libvirt.Libvirt;
import java.time.Duration;

/**
 * libvirt for the agent: {@link Libvirt}'s virsh with the agent's failures (reading a domain's
 * definition on the source host; starting, watching and stopping a failed-over domain). A failure
 * carries virsh's own one-line message.
 */
public final class Virsh {

    /** libvirt's system instance, where hypervisor hosts keep their VMs. */
    public static final String DEFAULT_URI = Libvirt.DEFAULT_URI;
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private final Libvirt libvirt;

    public Virsh(String uri) {
        this.libvirt = new Libvirt(uri, new CommandRunner(), TIMEOUT);
    }

    public String uri() {
        return libvirt.uri();
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
        try {
            return libvirt.run(args);
        } catch (SnapshotException e) {
            if (Thread.currentThread().isInterrupted()) {
                throw new StandinException(ExitStatus.INTERRUPTED, e.getMessage(), e);
            }
            throw new StandinException(e.isPermanent() ? ExitStatus.MISSING : ExitStatus.DESTINATION, e.getMessage(), e);
        }
    }
}
