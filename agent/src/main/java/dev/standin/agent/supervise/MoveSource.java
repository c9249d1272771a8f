package dev.standin.agent.supervise;

import dev.standin.failure.StandinException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The VM at the start of a planned move, as this host runs it: how its guest is powered off, how it
 * is kept from starting again by itself, how its stopped disks are read, and how it runs again if
 * the move fails. A libvirt domain ({@link LibvirtSource}) or a QEMU process standin reaches
 * through its monitor ({@link QemuSource}).
 */
public interface MoveSource {

    /** How messages name it: {@code domain web}, {@code QEMU process 4242}. */
    String describe();

    /** Whether the VM runs now (a stopped VM is moved as it is). */
    boolean running() throws StandinException;

    /**
     * Asks the guest to power off and returns once the VM has stopped and let go of its disks.
     * Past {@code timeout} it fails and nothing has changed but the request to the guest.
     */
    void shutDown(Duration timeout) throws StandinException, InterruptedException;

    /**
     * Keeps the VM from being started here by itself (a host reboot), telling {@code notices} what
     * was done or what the operator must do; true if something was changed.
     */
    boolean keepOff(java.util.function.Consumer<String> notices) throws StandinException;

    /** The {@code --snapshot} spec that reads disk {@code source} of the stopped VM as its guest sees it. */
    String stoppedView(Path source);

    /**
     * Undoes the move's changes after a failure: the VM runs as it did ({@code wasRunning}), what
     * {@link #keepOff} changed is restored ({@code keptOff}). The line says what happened.
     */
    String restore(boolean wasRunning, boolean keptOff) throws StandinException;
}
