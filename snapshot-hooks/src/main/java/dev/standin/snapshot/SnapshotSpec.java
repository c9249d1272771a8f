package dev.standin.snapshot;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * {@code --snapshot KIND:ARGS} split into its kind and colon-separated arguments:
 * {@code lvm:VG/LV}, {@code qemu:QMP_SOCKET:NODE[,NODE...][:GUEST_AGENT_SOCKET]}, {@code file}, {@code esxi:HOST:VMID[:quiesce]},
 * {@code script:PRE:POST[:TIMEOUT_SECONDS]}, {@code libvirt:DOMAIN[:URI]} (the URI may hold colons), {@code image[:FORMAT]}.
 */
public record SnapshotSpec(String kind, List<String> args) {

    public static final List<String> KINDS = List.of("qemu", "file", "script", "esxi", "lvm", "libvirt", "image");

    public SnapshotSpec {
        Objects.requireNonNull(kind, "kind");
        args = List.copyOf(args);
    }

    public static SnapshotSpec parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty snapshot spec; expected KIND:ARGS with KIND one of " + KINDS);
        }
        String[] parts = text.split(":", -1);
        String kind = parts[0];
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("unknown snapshot kind '" + kind + "' in '" + text + "'; expected one of "
                    + KINDS);
        }
        List<String> args = Arrays.asList(parts).subList(1, parts.length);
        for (String arg : args) {
            if (arg.isEmpty()) {
                throw new IllegalArgumentException("empty argument in snapshot spec '" + text + "'");
            }
        }
        return new SnapshotSpec(kind, args);
    }

    /**
     * The same spec with its local path arguments (qemu's QMP and guest agent sockets, file's copy
     * directory, script's two scripts) passed through {@code resolve}: relative ones are meant against the
     * working directory of whoever typed them, which need not be this process's.
     */
    public SnapshotSpec resolvingPaths(java.util.function.Function<String, java.nio.file.Path> resolve) {
        List<Integer> pathArgs = switch (kind) {
            case "qemu" -> List.of(0, 2);
            case "file" -> List.of(0);
            case "script" -> List.of(0, 1);
            default -> List.of();
        };
        List<String> resolved = new java.util.ArrayList<>(args);
        for (int i : pathArgs) {
            if (i < resolved.size()) {
                resolved.set(i, resolve.apply(resolved.get(i)).toString());
            }
        }
        return new SnapshotSpec(kind, resolved);
    }

    /** The {@code index}th argument, or a message that says what the kind expects. */
    String arg(int index, String usage) {
        if (index >= args.size()) {
            throw new IllegalArgumentException("--snapshot " + kind + " needs " + usage);
        }
        return args.get(index);
    }

    void expectAtMost(int count, String usage) {
        if (args.size() > count) {
            throw new IllegalArgumentException("--snapshot " + kind + " takes " + usage + ", got " + args);
        }
    }

    @Override
    public String toString() {
        return args.isEmpty() ? kind : kind + ":" + String.join(":", args);
    }
}
