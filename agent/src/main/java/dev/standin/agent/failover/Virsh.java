package dev.standin.agent.failover;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * libvirt through {@code virsh -c URI}: the one place standin talks to libvirt (reading a
 * domain's definition on the source host; starting, watching and stopping a failed-over domain).
 * A failure carries virsh's own one-line message.
 */
public final class Virsh {

    /** libvirt's system instance, where hypervisor hosts keep their VMs. */
    public static final String DEFAULT_URI = "qemu:///system";
    private static final long TIMEOUT_SECONDS = 120;

    private final String uri;

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
        Process process;
        try {
            process = new ProcessBuilder(command).start();
        } catch (IOException e) {
            throw new StandinException(ExitStatus.MISSING, "virsh is not installed (apt install libvirt-clients)", e);
        }
        try {
            process.getOutputStream().close();
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
                try {
                    return process.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    return new byte[0];
                }
            });
            byte[] out = process.getInputStream().readAllBytes();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new StandinException(ExitStatus.DESTINATION, "virsh " + args[0] + " did not finish in "
                        + TIMEOUT_SECONDS + " s (is libvirtd at " + uri + " hung?)");
            }
            if (process.exitValue() != 0) {
                String message = new String(err.join(), StandardCharsets.UTF_8).strip()
                        .replaceAll("(?m)^error: ", "").replaceAll("\\s*\n\\s*", "; ");
                throw new StandinException(ExitStatus.DESTINATION, "libvirt (" + uri + "): " + args[0] + ": "
                        + (message.isEmpty() ? "exit " + process.exitValue() : message));
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new StandinException(ExitStatus.DESTINATION, "virsh " + args[0] + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new StandinException(ExitStatus.INTERRUPTED, "interrupted while running virsh " + args[0], e);
        }
    }
}
