package dev.standin.agent.failover;

import dev.standin.failure.StandinException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real libvirtd for the tests: the one running on this host, or one the test starts (there is
 * no systemd here: {@code virtlogd -d}, then {@code libvirtd -d}) and stops again, removing the
 * firewall chains it added.
 */
final class Libvirtd implements AutoCloseable {

    private final boolean started;
    final Virsh virsh = new Virsh(Virsh.DEFAULT_URI);

    private Libvirtd(boolean started) {
        this.started = started;
    }

    /** Whether this test started it (and so stops it). */
    boolean started() {
        return started;
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
        removeFirewallChains();
    }

    /**
     * The LIBVIRT_* chains libvirtd adds to iptables and ip6tables when it starts, which it leaves
     * behind when it stops: the jumps to them removed, then the chains themselves.
     */
    private static void removeFirewallChains() throws IOException, InterruptedException {
        for (String tool : new String[] {"iptables", "ip6tables"}) {
            for (String table : new String[] {"filter", "nat", "mangle"}) {
                String rules = output(tool, "-t", table, "-S");
                for (String rule : rules.lines().toList()) {
                    String[] words = rule.split(" ");
                    if (words[0].equals("-A") && !words[1].startsWith("LIBVIRT_") && rule.contains(" -j LIBVIRT_")) {
                        List<String> delete = new ArrayList<>(List.of(tool, "-t", table, "-D"));
                        delete.addAll(List.of(words).subList(1, words.length));
                        output(delete.toArray(String[]::new));
                    }
                }
                for (String rule : rules.lines().toList()) {
                    if (rule.startsWith("-N LIBVIRT_")) {
                        String chain = rule.substring(3).strip();
                        output(tool, "-t", table, "-F", chain);
                        output(tool, "-t", table, "-X", chain);
                    }
                }
            }
        }
    }

    /** A command's output; empty when it is not there or fails (no ip6tables, no such table). */
    private static String output(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException absent) {
            return "";
        }
        String out = new String(p.getInputStream().readAllBytes());
        return p.waitFor() == 0 ? out : "";
    }
}
