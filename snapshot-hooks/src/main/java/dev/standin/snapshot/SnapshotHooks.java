package dev.standin.snapshot;

import dev.standin.snapshot.esxi.EsxiHook;
import dev.standin.snapshot.file.FileHook;
import dev.standin.snapshot.image.ImageHook;
import dev.standin.snapshot.libvirt.Libvirt;
import dev.standin.snapshot.libvirt.LibvirtHook;
import dev.standin.snapshot.lvm.LvmHook;
import dev.standin.snapshot.qemu.QemuHook;
import dev.standin.snapshot.script.ScriptHook;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Makes hooks from {@code --snapshot} specs and releases what crashed runs left behind. */
public final class SnapshotHooks {

    private final HookContext context;
    private final Optional<RemoteShell.Connector> ssh;

    /** {@code ssh} is how the esxi hook reaches ESX hosts; without it, esxi specs are refused. */
    public SnapshotHooks(HookContext context, Optional<RemoteShell.Connector> ssh) {
        this.context = context;
        this.ssh = ssh;
    }

    public SnapshotHook create(SnapshotSpec spec) {
        return switch (spec.kind()) {
            case QemuHook.KIND -> {
                spec.expectAtMost(3, "QMP_SOCKET:NODE[,NODE...][:GUEST_AGENT_SOCKET]");
                List<String> nodes = List.of(spec.arg(1, "QMP_SOCKET:NODE[,NODE...]").split(",", -1));
                if (nodes.contains("")) {
                    throw new IllegalArgumentException("--snapshot qemu has an empty node name in '" + spec.args().get(1) + "'");
                }
                Optional<Path> guestAgent = spec.args().size() > 2 ? Optional.of(Path.of(spec.args().get(2))) : Optional.empty();
                yield new QemuHook(Path.of(spec.arg(0, "QMP_SOCKET:NODE")), nodes, guestAgent, context);
            }
            case FileHook.KIND -> {
                spec.expectAtMost(1, "an optional COPY_DIR");
                yield new FileHook(spec.args().isEmpty() ? null : Path.of(spec.args().get(0)), context);
            }
            case ScriptHook.KIND -> {
                spec.expectAtMost(3, "PRE:POST[:TIMEOUT_SECONDS]");
                long seconds = spec.args().size() > 2 ? parseSeconds(spec.args().get(2)) : 60;
                yield new ScriptHook(Path.of(spec.arg(0, "PRE:POST")), Path.of(spec.arg(1, "PRE:POST")),
                        Duration.ofSeconds(seconds), context);
            }
            case EsxiHook.KIND -> {
                spec.expectAtMost(3, "HOST:VMID[:quiesce]");
                String host = spec.arg(0, "HOST:VMID");
                String vmid = spec.arg(1, "HOST:VMID");
                boolean quiesce = spec.args().size() > 2 && quiesceFlag(spec.args().get(2));
                RemoteShell.Connector connector = ssh.orElseThrow(() -> new IllegalArgumentException(
                        "--snapshot esxi needs an SSH transport, and none was given"));
                yield new EsxiHook(host, vmid, quiesce, connector, context);
            }
            case LvmHook.KIND -> {
                spec.expectAtMost(2, "VG/LV[:SIZE]");
                yield new LvmHook(spec.arg(0, "VG/LV"), spec.args().size() > 1 ? spec.args().get(1) : null, context);
            }
            case LibvirtHook.KIND -> {
                String domain = spec.arg(0, "DOMAIN[:URI]");
                String uri = spec.args().size() > 1 ? String.join(":", spec.args().subList(1, spec.args().size()))
                        : Libvirt.DEFAULT_URI;
                yield new LibvirtHook(domain, uri, context);
            }
            case ImageHook.KIND -> {
                spec.expectAtMost(1, "an optional FORMAT (raw, qcow2, ...)");
                yield new ImageHook(spec.args().stream().findFirst(), context);
            }
            default -> throw new IllegalArgumentException("unknown snapshot kind " + spec.kind());
        };
    }

    /** The hook that can release a record of {@code kind} (its arguments come from the record). */
    private SnapshotHook forStale(String kind) {
        return switch (kind) {
            case QemuHook.KIND -> new QemuHook(null, List.of(), Optional.empty(), context);
            case FileHook.KIND -> new FileHook(null, context);
            case ScriptHook.KIND -> new ScriptHook(null, null, Duration.ZERO, context);
            case EsxiHook.KIND -> new EsxiHook(null, null, false,
                    ssh.orElseThrow(() -> new IllegalStateException("no SSH transport to release an esxi snapshot")), context);
            case LvmHook.KIND -> new LvmHook(null, null, context);
            case LibvirtHook.KIND -> new LibvirtHook(null, Libvirt.DEFAULT_URI, context);
            case ImageHook.KIND -> new ImageHook(Optional.empty(), context);
            default -> throw new IllegalStateException("no hook of kind " + kind);
        };
    }

    /**
     * Releases every snapshot whose recording process is gone, at start-up. Returns one line per
     * record: what was released, or why it could not be (those records stay for the next start).
     */
    public List<String> releaseStale() throws IOException {
        List<String> report = new ArrayList<>();
        for (StaleSnapshots.Unreadable bad : context.registry().unreadable()) {
            report.add("unreadable snapshot record " + bad.file() + " (" + bad.reason() + "); left for a human");
        }
        for (StaleSnapshots.Entry entry : context.registry().stale()) {
            try {
                forStale(entry.kind()).releaseStale(entry);
                report.add("released stale " + entry.kind() + " snapshot " + entry.id());
            } catch (SnapshotException | RuntimeException e) {
                report.add("could not release stale " + entry.kind() + " snapshot " + entry.id() + ": " + e.getMessage());
            }
        }
        return report;
    }

    private static long parseSeconds(String text) {
        try {
            long seconds = Long.parseLong(text);
            if (seconds > 0) {
                return seconds;
            }
        } catch (NumberFormatException e) {
            // fall through to the message
        }
        throw new IllegalArgumentException("script timeout '" + text + "' must be a positive number of seconds");
    }

    private static boolean quiesceFlag(String text) {
        if (!text.equals("quiesce") && !text.equals("noquiesce")) {
            throw new IllegalArgumentException("esxi option '" + text + "' must be quiesce or noquiesce");
        }
        return text.equals("quiesce");
    }
}
