package dev.standin.agent.failover;

import dev.standin.agent.StandinException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real libvirtd for the tests: the one running on this host, or one the test starts (there is
 * no systemd here: {@code virtlogd -d}, then {@code libvirtd -d}) and stops again.
 */
final class Libvirtd implements AutoCloseable {

    private final boolean started;
    final Virsh virsh = new Virsh(Virsh.DEFAULT_URI);

    private Libvirtd(boolean started) {
        this.started = started;
    }

    static Libvirtd start() throws IOException, InterruptedException {
        Virsh virsh = new Virsh(Virsh.DEFAULT_URI);
        try {
            virsh.run("version");
            return new Libvirtd(false);
        } catch (StandinException notRunning) {
            // start it below
        }
        for (String daemon : new String[] {"/usr/sbin/virtlogd", "/usr/sbin/libvirtd"}) {
            if (!Files.isExecutable(Path.of(daemon))) {
                throw new IllegalStateException(daemon + " is missing: run install/setup-debian.sh");
            }
            Process p = new ProcessBuilder(daemon, "-d").inheritIO().start();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(daemon + " -d did not start");
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                virsh.run("version");
                return new Libvirtd(true);
            } catch (StandinException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("libvirtd does not answer: " + e.getMessage());
                }
                Thread.sleep(100);
            }
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (!started) {
            return;
        }
        for (String pidFile : new String[] {"/run/libvirtd.pid", "/run/virtlogd.pid"}) {
            Path file = Path.of(pidFile);
            if (Files.exists(file)) {
                long pid = Long.parseLong(Files.readString(file).strip());
                ProcessHandle.of(pid).ifPresent(p -> {
                    p.destroy();
                    p.onExit().join();
                });
            }
        }
    }
}
