package dev.standin.agent.failover;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.standin.failure.StandinException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A failed-over VM run by libvirt: a transient domain for a test ({@code virsh create}: gone when
 * stopped), a persistent one for a real failover ({@code define} + {@code start}: it survives a
 * libvirtd restart). Watched through virsh: {@code domstate --reason} for a panic, an I/O error
 * or a power-off, {@code qemu-agent-command} for the guest agent (libvirt owns its channel).
 */
public final class LibvirtMachine implements Machine {

    /** A test's NICs go here: a network with no forward and no DHCP or DNS, nothing outside it. */
    static final String ISOLATED = "standin-isolated";
    private static final String ISOLATED_XML = "<network><name>" + ISOLATED + "</name>"
            + "<bridge name='standin-iso0' stp='on' delay='0'/><dns enable='no'/></network>";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Virsh virsh;
    private final String domain;
    private final Path console;

    LibvirtMachine(Virsh virsh, String domain, Path console) {
        this.virsh = virsh;
        this.domain = domain;
        this.console = console;
    }

    /** Starts {@code xml} (prepared by {@link LibvirtDomain}); persistent unless a test. */
    static LibvirtMachine start(Virsh virsh, String domain, String xml, Path run, boolean test)
            throws StandinException {
        Path file = run.resolve("domain.xml");
        try {
            Files.writeString(file, xml);
        } catch (IOException e) {
            throw new StandinException(dev.standin.failure.ExitStatus.DESTINATION, "cannot write " + file + ": "
                    + e.getMessage(), e);
        }
        if (test) {
            virsh.run("create", file.toString());
        } else {
            virsh.run("define", file.toString());
            try {
                virsh.run("start", domain);
            } catch (StandinException e) {
                undefine(virsh, domain);
                throw e;
            }
        }
        return new LibvirtMachine(virsh, domain, run.resolve("console.log"));
    }

    /** The isolated network, started if it is not yet: whether this call started it. */
    static boolean ensureIsolatedNetwork(Virsh virsh) throws StandinException {
        try {
            virsh.run("net-info", ISOLATED);
            return false;
        } catch (StandinException absent) {
            Path file = writeTemp(ISOLATED_XML);
            try {
                virsh.run("net-create", file.toString());
            } finally {
                file.toFile().delete();
            }
            return true;
        }
    }

    /** Stops the isolated network unless another test VM still uses it. */
    static void releaseIsolatedNetwork(Virsh virsh) {
        try {
            List<String> running = virsh.run("list", "--name").lines().map(String::strip)
                    .filter(n -> n.endsWith(Failover.TEST_SUFFIX)).toList();
            if (running.isEmpty()) {
                virsh.run("net-destroy", ISOLATED);
            }
        } catch (StandinException ignored) {
            // already gone
        }
    }

    private static Path writeTemp(String xml) throws StandinException {
        try {
            Path file = Files.createTempFile("standin-network", ".xml");
            Files.writeString(file, xml);
            return file;
        } catch (IOException e) {
            throw new StandinException(dev.standin.failure.ExitStatus.DESTINATION, "cannot write a network definition: "
                    + e.getMessage(), e);
        }
    }

    @Override
    public Path console() {
        return console;
    }

    @Override
    public Optional<String> failure() {
        String state;
        try {
            state = virsh.run("domstate", "--reason", domain).strip();
        } catch (StandinException e) {
            return Optional.of("the domain is gone: " + e.getMessage());
        }
        if (state.contains("panicked") || state.startsWith("crashed")) {
            return Optional.of("the guest kernel panicked (libvirt: " + state + ")");
        }
        if (state.contains("ioerror")) {
            return Optional.of("an I/O error on a disk (libvirt: " + state + ")");
        }
        if (state.startsWith("shut") || state.startsWith("pmsuspended")) {
            return Optional.of("the guest shut down during its boot (libvirt: " + state + ")");
        }
        return Optional.empty();
    }

    /** {@code virsh blockpull --wait} of each overlay, one after the other. */
    @Override
    public void promote(List<Path> overlays) throws StandinException {
        for (Path overlay : overlays) {
            virsh.run("blockpull", domain, overlay.toAbsolutePath().toString(), "--wait");
        }
    }

    @Override
    public Optional<String> askAgent() {
        try {
            JsonNode reply = JSON.readTree(virsh.run("qemu-agent-command", domain, "--timeout", "2",
                    "{\"execute\":\"guest-get-osinfo\"}"));
            return Optional.of(QemuMachine.describe(reply.path("return")));
        } catch (StandinException | IOException e) {
            return Optional.empty(); // not up yet, or no agent in this guest
        }
    }

    @Override
    public Optional<Path> screendump(Path file) {
        try {
            Files.deleteIfExists(file);
            virsh.run("screenshot", domain, file.toString());
            return Files.exists(file) ? Optional.of(file) : Optional.empty();
        } catch (StandinException | IOException e) {
            return Optional.empty(); // a domain without a display has none
        }
    }

    @Override
    public Optional<ProcessHandle> process() {
        try {
            String pid = Files.readString(Path.of("/run/libvirt/qemu", domain + ".pid")).strip();
            return ProcessHandle.of(Long.parseLong(pid)).filter(ProcessHandle::isAlive);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    @Override
    public boolean stop() {
        boolean running;
        try {
            virsh.run("destroy", domain);
            running = true;
        } catch (StandinException e) {
            running = false; // not running
        }
        undefine(virsh, domain);
        return running;
    }

    private static void undefine(Virsh virsh, String domain) {
        try {
            virsh.run("undefine", domain);
        } catch (StandinException e) {
            // transient, or gone
        }
    }

    @Override
    public void close() {
        // nothing held open between calls
    }
}
