package dev.standin.agent.supervise;

import dev.standin.agent.failover.Virsh;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.snapshot.libvirt.LibvirtHook;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A libvirt domain at the start of a planned move: shut down through its guest agent, else the
 * ACPI power button; kept off by turning its autostart off; its stopped disks read through the
 * {@code libvirt:} hook (qemu-nbd, whose lock keeps the domain from starting meanwhile).
 */
public final class LibvirtSource implements MoveSource {

    private final Virsh virsh;
    private final String domain;

    public LibvirtSource(Virsh virsh, String domain) {
        this.virsh = virsh;
        this.domain = domain;
    }

    @Override
    public String describe() {
        return "domain " + domain;
    }

    @Override
    public boolean running() throws StandinException {
        return !virsh.run("domstate", domain).strip().equals("shut off");
    }

    @Override
    public void shutDown(Duration timeout) throws StandinException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        virsh.run("shutdown", domain, "--mode", "agent,acpi");
        while (running()) {
            if (System.nanoTime() > deadline) {
                throw new StandinException(ExitStatus.SOURCE, "domain " + domain + " did not shut down within "
                        + timeout.toSeconds() + " s of being asked (through its guest agent, else the ACPI power "
                        + "button); nothing was moved, and the guest may still act on the request. Shut it down "
                        + "yourself, then run --planned again");
            }
            Thread.sleep(500);
        }
    }

    @Override
    public boolean keepOff(java.util.function.Consumer<String> notices) throws StandinException {
        boolean autostart = virsh.run("dominfo", domain).lines().anyMatch(l -> l.matches("Autostart:\\s+enable"));
        if (autostart) {
            virsh.run("autostart", "--disable", domain);
            notices.accept("autostart of domain " + domain + " is off: a reboot of this host does not start it");
        }
        return autostart;
    }

    @Override
    public String stoppedView(Path source) {
        return LibvirtHook.spec(domain, virsh.uri()).toString();
    }

    @Override
    public String restore(boolean wasRunning, boolean keptOff) throws StandinException {
        if (keptOff) {
            virsh.run("autostart", domain);
        }
        if (wasRunning) {
            virsh.run("start", domain);
            return "nothing was moved: domain " + domain + " runs here again";
        }
        return "nothing was moved: domain " + domain + " was shut off and stays so";
    }
}
