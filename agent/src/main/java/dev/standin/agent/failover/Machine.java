package dev.standin.agent.failover;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A started VM as the boot check watches it, whoever runs it (QEMU directly, or libvirt).
 * {@link #close} lets go of what the watch held open (a monitor connection), never the VM.
 */
public interface Machine extends AutoCloseable {

    /** The file its serial console is written to. */
    Path console();

    /** The first sign that its boot failed (a panic, an I/O error, a power-off, the process gone), if any. */
    Optional<String> failure();

    /** Its guest agent's description of the operating system, if the agent answers now. */
    Optional<String> askAgent();

    /** A picture of its display, kept as evidence where it has one. */
    Optional<Path> screendump(Path file);

    /** Its QEMU process, while it runs. */
    Optional<ProcessHandle> process();

    /**
     * Pulls everything the VM's {@code overlays} (its disks, in order) read from their backing
     * images into the overlays themselves, while it runs: afterwards no disk needs its replica.
     */
    void promote(java.util.List<Path> overlays) throws dev.standin.failure.StandinException;

    /** Stops the VM at once; whether one was running. */
    boolean stop();

    @Override
    void close();
}
