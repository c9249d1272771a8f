package dev.standin.supervisor.config;

import dev.standin.supervisor.config.SupervisorConfig.Bandwidth;
import dev.standin.supervisor.config.SupervisorConfig.Disk;
import dev.standin.supervisor.config.SupervisorConfig.HostPort;
import dev.standin.supervisor.config.SupervisorConfig.SyncSettings;
import dev.standin.supervisor.config.SupervisorConfig.Target;
import dev.standin.supervisor.config.SupervisorConfig.Vm;
import dev.standin.supervisor.config.YamlNode.Mapping;
import dev.standin.supervisor.config.YamlNode.Scalar;
import dev.standin.supervisor.config.YamlNode.Sequence;
import dev.standin.supervisor.policy.Backoff;
import dev.standin.supervisor.policy.Cadence;
import dev.standin.supervisor.policy.Planner;
import dev.standin.supervisor.policy.CalendarSchedule;
import dev.standin.supervisor.policy.Durations;
import dev.standin.supervisor.policy.TargetPolicy;
import dev.standin.supervisor.policy.Window;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and checks the supervisor's YAML file strictly (docs/standin.yaml.5.adoc): an unknown key, a value
 * of the wrong kind, a bad duration or schedule, a missing field, or a value {@link SettingCheck}
 * refuses is a {@link ConfigException} naming the file, the line and the reason.
 */
public final class ConfigReader {

    static final Duration CONTINUOUS_GAP = Duration.ofSeconds(10);
    static final Duration CONTINUOUS_RPO = Duration.ofMinutes(15);

    private final String file;
    private final SettingCheck check;

    private ConfigReader(String file, SettingCheck check) {
        this.file = file;
        this.check = check;
    }

    /** The file at {@code path}; a missing file is an error (the caller decides whether none is fine). */
    public static SupervisorConfig read(Path path, SettingCheck check) throws ConfigException {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(path.toString(), 0, "no such file");
        } catch (IOException e) {
            throw new ConfigException(path.toString(), 0, "cannot read: " + e.getMessage());
        }
        return read(new StringReader(text), path.toString(), check);
    }

    public static SupervisorConfig read(Reader in, String file, SettingCheck check) throws ConfigException {
        try {
            return new ConfigReader(file, check).config(YamlNode.read(in, file));
        } catch (Unchecked e) {
            throw (ConfigException) e.getCause();
        }
    }

    private SupervisorConfig config(YamlNode root) throws ConfigException {
        Fields top = fields(root, "the file", withSettings("state-dir", "metrics", "max-parallel", "on-health-change",
                "on-health-change-timeout", "critical-after", "retry-first", "retry-max", "retry-permanent", "replica-roots",
                "vms"));
        Path stateDir = Path.of(top.text("state-dir").orElse("/var/lib/standin"));
        if (!stateDir.isAbsolute()) {
            throw error(top.line("state-dir"), "state-dir must be an absolute path, not " + stateDir);
        }
        Optional<HostPort> metrics = Optional.of(new HostPort("127.0.0.1", 9741));
        if (top.has("metrics")) {
            String m = top.text("metrics").orElse("off");
            metrics = m.equals("off") ? Optional.empty() : Optional.of(hostPort(m, top.line("metrics")));
        }
        int maxParallel = top.integer("max-parallel", 1, 64).orElse(2);
        Optional<String> hook = top.text("on-health-change");
        Duration hookTimeout = top.duration("on-health-change-timeout").orElse(Duration.ofSeconds(30));
        double criticalAfter = top.number("critical-after").orElse(3.0);
        Planner defaults = Planner.DEFAULT;
        Backoff backoff = new Backoff(top.duration("retry-first").orElse(defaults.backoff().first()),
                top.duration("retry-max").orElse(defaults.backoff().max()), defaults.backoff().jitter());
        if (backoff.first().isZero() || backoff.max().compareTo(backoff.first()) < 0) {
            throw error(top.line("retry-max"), "retries wait retry-first, doubling up to retry-max: both above 0, "
                    + "retry-max at least retry-first");
        }
        Planner planner = new Planner(backoff, top.duration("retry-permanent").orElse(defaults.permanentRetry()),
                defaults.minimumGap());
        List<Path> replicaRoots = new ArrayList<>();
        if (top.has("replica-roots")) {
            for (YamlNode r : sequence(top.required("replica-roots"), "replica-roots")) {
                Path replicaRoot = Path.of(scalar(r, "a replica root"));
                if (!replicaRoot.isAbsolute()) {
                    throw error(r.line(), "a replica root is an absolute directory, not " + replicaRoot);
                }
                if (replicaRoots.contains(replicaRoot)) {
                    throw error(r.line(), "replica root " + replicaRoot + " is listed twice");
                }
                replicaRoots.add(replicaRoot);
            }
        }
        SyncSettings settings = settings(top);
        List<Vm> vms = new ArrayList<>();
        Optional<YamlNode> vmsNode = top.node("vms");
        if (vmsNode.isPresent()) {
            Mapping vmsMap = mapping(vmsNode.get(), "vms");
            for (YamlNode.Entry e : vmsMap.entries().values()) {
                if (!Pattern.matches("[A-Za-z0-9][A-Za-z0-9._-]*", e.key())) {
                    throw error(e.line(), "'" + e.key() + "' is not a VM name: letters, digits, '.', '_', '-'");
                }
                vms.add(vm(e.key(), e.value(), settings, criticalAfter));
            }
        }
        return new SupervisorConfig(file, stateDir, metrics, maxParallel, hook, hookTimeout, planner, replicaRoots, vms);
    }

    private Vm vm(String name, YamlNode node, SyncSettings parent, double criticalAfter) throws ConfigException {
        Fields f = fields(node, "VM " + name, withSettings("disks", "targets", "qemu", "libvirt", "libvirt-uri"));
        SyncSettings settings = settings(f).over(parent);
        List<Disk> disks = new ArrayList<>();
        Set<String> names = new HashSet<>();
        // A libvirt domain without disks: its own, found at each cycle.
        List<YamlNode> listed = f.has("libvirt") && !f.has("disks") ? List.of()
                : sequence(f.required("disks"), "disks of " + name);
        for (YamlNode d : listed) {
            Fields df = fields(d, "a disk of " + name, List.of("source", "snapshot"));
            String source = df.requiredText("source");
            checked(df.line("source"), "source", source);
            if (!names.add(Path.of(source).getFileName().toString())) {
                throw error(df.line("source"), "two disks of " + name + " have the file name "
                        + Path.of(source).getFileName() + ", and a replica is named after its source");
            }
            Optional<String> snapshot = df.text("snapshot");
            if (snapshot.isPresent()) {
                checked(df.line("snapshot"), "snapshot", snapshot.get());
            }
            disks.add(new Disk(source, snapshot));
        }
        if (disks.isEmpty() && f.has("disks")) {
            throw error(f.line("disks"), "VM " + name + " has no disks (leave disks out for a libvirt domain's own)");
        }
        List<Target> targets = new ArrayList<>();
        Set<String> dests = new HashSet<>();
        for (YamlNode t : sequence(f.required("targets"), "targets of " + name)) {
            Target target = target(name, t, settings, criticalAfter, f.has("qemu") || f.has("libvirt"));
            if (!dests.add(target.dest())) {
                throw error(t.line(), "VM " + name + " names the target " + target.dest() + " twice");
            }
            targets.add(target);
        }
        if (targets.isEmpty()) {
            throw error(f.line("targets"), "VM " + name + " has no targets");
        }
        Optional<SupervisorConfig.Qemu> qemu = Optional.empty();
        if (f.node("qemu").isPresent()) {
            Fields q = fields(f.node("qemu").get(), "qemu of " + name, List.of("memory", "cpus", "machine", "firmware",
                    "nics"));
            String memory = q.requiredText("memory");
            long bytes = memory(memory);
            if (bytes < 16L << 20 || bytes > 16L << 40) {
                throw error(q.line("memory"), "memory '" + memory + "' of " + name + ": a size such as 512M or 2G, "
                        + "from 16M to 16T");
            }
            String firmware = q.text("firmware").orElse("bios");
            if (!firmware.equals("bios") && !firmware.equals("uefi")) {
                throw error(q.line("firmware"), "firmware '" + firmware + "' of " + name + " is bios or uefi");
            }
            List<SupervisorConfig.Nic> nics = new ArrayList<>();
            for (YamlNode n : q.has("nics") ? sequence(q.required("nics"), "nics of " + name) : List.<YamlNode>of()) {
                Fields nf = fields(n, "a NIC of " + name, List.of("bridge", "mac", "model"));
                String bridge = nf.requiredText("bridge");
                if (!bridge.matches("[A-Za-z0-9_.\\-]{1,15}")) {
                    throw error(nf.line("bridge"), "bridge '" + bridge + "' of " + name + " is not a network interface "
                            + "name (br0)");
                }
                Optional<String> mac = nf.text("mac").map(m -> m.toLowerCase(java.util.Locale.ROOT));
                if (mac.isPresent() && (!mac.get().matches("[0-9a-f]{2}(:[0-9a-f]{2}){5}")
                        || (Integer.parseInt(mac.get().substring(0, 2), 16) & 1) != 0)) {
                    throw error(nf.line("mac"), "mac '" + mac.get() + "' of " + name + " is not a unicast MAC address "
                            + "(52:54:00:12:34:56)");
                }
                String model = nf.text("model").orElse("virtio-net-pci");
                if (!model.matches("[a-z0-9][a-z0-9\\-]{0,31}")) {
                    throw error(nf.line("model"), "model '" + model + "' of " + name + " is not a QEMU network device "
                            + "(virtio-net-pci, e1000e, ...)");
                }
                nics.add(new SupervisorConfig.Nic(bridge, mac, model));
            }
            if (nics.size() > 8) {
                throw error(q.line("nics"), name + " has " + nics.size() + " NICs; at most 8");
            }
            qemu = Optional.of(new SupervisorConfig.Qemu(bytes, q.integer("cpus", 1, 255).orElse(1),
                    q.text("machine").orElse("q35"), firmware, nics));
            if (!qemu.get().machine().matches("[a-z0-9][a-z0-9.\\-]{0,63}")) {
                throw error(q.line("machine"), "machine '" + qemu.get().machine() + "' is not a QEMU machine type "
                        + "(q35, pc, ...)");
            }
        }
        Optional<SupervisorConfig.Libvirt> libvirt = Optional.empty();
        if (f.has("libvirt")) {
            if (qemu.isPresent()) {
                throw error(f.line("qemu"), "VM " + name + " has both qemu and libvirt: a failover starts it one way; "
                        + "keep libvirt (its domain definition is replicated) or qemu");
            }
            String domain = f.requiredText("libvirt");
            if (domain.isBlank() || domain.contains("/")) {
                throw error(f.line("libvirt"), "libvirt names the VM's domain, as 'virsh list --all' shows it, not '"
                        + domain + "'");
            }
            libvirt = Optional.of(new SupervisorConfig.Libvirt(domain, f.text("libvirt-uri").orElse("qemu:///system")));
        } else if (f.has("libvirt-uri")) {
            throw error(f.line("libvirt-uri"), "libvirt-uri goes with libvirt: DOMAIN");
        }
        return new Vm(name, disks, targets, qemu, libvirt);
    }

    /** A size as QEMU's -m takes it: a number and K, M, G or T (binary), or bytes; -1 when it is none. */
    private static long memory(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]{1,12})([KMGT]?)").matcher(text);
        if (!m.matches()) {
            return -1;
        }
        int shift = switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        long n = Long.parseLong(m.group(1));
        return n > (Long.MAX_VALUE >> shift) ? -1 : n << shift;
    }

    /** {@code daily}, {@code weekly}, {@code monthly} or a duration. */
    private Duration every(Fields f, String key, String value) {
        return switch (value) {
            case "daily" -> Duration.ofDays(1);
            case "weekly" -> Duration.ofDays(7);
            case "monthly" -> Duration.ofDays(30);
            default -> parsedText(f, key, value, Durations::parse);
        };
    }

    private Target target(String vm, YamlNode node, SyncSettings parent, double parentCritical, boolean hasQemu)
            throws ConfigException {
        Fields f = fields(node, "a target of " + vm, withSettings("dest", "rpo", "schedule", "continuous",
                "continuous-gap", "window", "verify", "boot-check", "boot-check-timeout", "critical-after"));
        String dest = f.requiredText("dest");
        checked(f.line("dest"), "dest", dest);
        int given = (f.has("schedule") ? 1 : 0) + (f.has("continuous") ? 1 : 0);
        if (given > 1) {
            throw error(f.line("continuous"), "a target has one of schedule or continuous, not both");
        }
        Optional<Duration> rpo = f.duration("rpo");
        if (rpo.isPresent() && rpo.get().compareTo(Duration.ofSeconds(30)) < 0) {
            throw error(f.line("rpo"), "an RPO under 30s cannot be kept; for back-to-back cycles write continuous: true");
        }
        Cadence cadence;
        Duration objective;
        if (f.has("schedule")) {
            CalendarSchedule schedule = parsed(f, "schedule", CalendarSchedule::parse);
            cadence = new Cadence.Calendar(schedule);
            objective = rpo.orElse(schedule.longestGap(ZonedDateTime.now(ZoneId.systemDefault())));
        } else if (f.has("continuous")) {
            if (!f.bool("continuous")) {
                throw error(f.line("continuous"), "continuous: false says nothing; give rpo or schedule instead");
            }
            cadence = new Cadence.Continuous(f.duration("continuous-gap").orElse(CONTINUOUS_GAP));
            objective = rpo.orElse(CONTINUOUS_RPO);
        } else if (rpo.isPresent()) {
            cadence = new Cadence.Rpo(rpo.get());
            objective = rpo.get();
        } else {
            throw error(node.line(), "target " + dest + " has no rpo, schedule or continuous: say when its cycles run");
        }
        double critical = f.number("critical-after").orElse(parentCritical);
        if (critical < 1) {
            throw error(f.line("critical-after"), "critical-after is a number of RPOs, at least 1");
        }
        Optional<Window> window = f.text("window").map(w -> parsedText(f, "window", w, Window::parse));
        Optional<Duration> verify = f.text("verify").map(v -> every(f, "verify", v));
        Optional<Duration> bootCheck = f.text("boot-check").map(v -> every(f, "boot-check", v));
        if (bootCheck.isPresent() && !hasQemu) {
            throw error(f.line("boot-check"), "boot-check starts VM " + vm + " on the replica host: give the VM its "
                    + "libvirt domain (libvirt: DOMAIN) or a launch spec (qemu: { memory: 1G, cpus: 2 })");
        }
        Duration bootTimeout = f.duration("boot-check-timeout").orElse(Target.BOOT_CHECK_TIMEOUT);
        if (bootTimeout.compareTo(Duration.ofSeconds(10)) < 0 || bootTimeout.compareTo(Duration.ofDays(1)) > 0) {
            throw error(f.line("boot-check-timeout"), "boot-check-timeout is from 10s to 1d, not "
                    + Durations.format(bootTimeout));
        }
        SyncSettings settings = settings(f).over(parent);
        return new Target(dest, new TargetPolicy(cadence, objective, critical, window, verify, bootCheck), settings,
                bootTimeout);
    }

    private SyncSettings settings(Fields f) throws ConfigException {
        Map<String, String> options = new LinkedHashMap<>();
        for (String key : SyncSettings.KEYS) {
            Optional<String> value = f.text(key);
            if (value.isPresent()) {
                checked(f.line(key), key, value.get());
                options.put(key, value.get());
            }
        }
        Optional<Bandwidth> bwlimit = Optional.empty();
        Optional<YamlNode> node = f.node("bwlimit");
        if (node.isPresent()) {
            if (node.get() instanceof Mapping m) {
                List<Map.Entry<Window, String>> byWindow = new ArrayList<>();
                String otherwise = "0";
                for (YamlNode.Entry e : m.entries().values()) {
                    String rate = scalar(e.value(), "bwlimit " + e.key());
                    checked(e.line(), "bwlimit", rate);
                    if (e.key().equals("default")) {
                        otherwise = rate;
                    } else {
                        try {
                            byWindow.add(Map.entry(Window.parse(e.key()), rate));
                        } catch (IllegalArgumentException x) {
                            throw error(e.line(), "bwlimit: " + x.getMessage());
                        }
                    }
                }
                bwlimit = Optional.of(new Bandwidth(byWindow, otherwise));
            } else {
                String rate = scalar(node.get(), "bwlimit");
                checked(node.get().line(), "bwlimit", rate);
                bwlimit = Optional.of(new Bandwidth(List.of(), rate));
            }
        }
        return new SyncSettings(options, bwlimit);
    }

    private void checked(int line, String key, String value) throws ConfigException {
        Optional<String> problem = check.problem(key, value);
        if (problem.isPresent()) {
            throw error(line, key + ": " + problem.get());
        }
    }

    private HostPort hostPort(String text, int line) {
        Matcher m = Pattern.compile("(.*):(\\d{1,5})").matcher(text);
        if (!m.matches() || Integer.parseInt(m.group(2)) > 65535) {
            throw new Unchecked(error(line, "metrics is HOST:PORT (e.g. 127.0.0.1:9741) or off, not " + text));
        }
        String host = m.group(1).isEmpty() ? "0.0.0.0" : m.group(1);
        return new HostPort(host.replace("[", "").replace("]", ""), Integer.parseInt(m.group(2)));
    }

    private <T> T parsed(Fields f, String key, Function<String, T> parser) throws ConfigException {
        return parsedText(f, key, f.requiredText(key), parser);
    }

    private <T> T parsedText(Fields f, String key, String text, Function<String, T> parser) {
        try {
            return parser.apply(text);
        } catch (IllegalArgumentException e) {
            throw new Unchecked(error(f.line(key), key + ": " + e.getMessage()));
        }
    }

    private ConfigException error(int line, String reason) {
        return new ConfigException(file, line, reason);
    }

    /** A mapping's fields; a key not in {@code keys} is refused first, since a typo explains what follows. */
    private Fields fields(YamlNode node, String what, List<String> keys) throws ConfigException {
        Mapping m = mapping(node, what);
        for (YamlNode.Entry e : m.entries().values()) {
            if (!keys.contains(e.key())) {
                throw error(e.line(), "unknown key '" + e.key() + "' in " + what + suggestion(e.key(), keys));
            }
        }
        return new Fields(m, what);
    }

    private static List<String> withSettings(String... keys) {
        List<String> all = new ArrayList<>(List.of(keys));
        all.addAll(SyncSettings.KEYS);
        all.add("bwlimit");
        return all;
    }

    private Mapping mapping(YamlNode node, String what) throws ConfigException {
        if (node instanceof Mapping m) {
            return m;
        }
        if (node instanceof Scalar s && s.isNull()) {
            return new Mapping(Map.of(), node.line());
        }
        throw error(node.line(), what + " must be a mapping of keys to values");
    }

    private List<YamlNode> sequence(YamlNode node, String what) throws ConfigException {
        if (node instanceof Sequence s) {
            return s.items();
        }
        throw error(node.line(), what + " must be a list (lines starting with '- ')");
    }

    private String scalar(YamlNode node, String what) throws ConfigException {
        if (node instanceof Scalar s && !s.isNull()) {
            return s.text();
        }
        throw error(node.line(), what + " must be a single value");
    }

    /** A RuntimeException carrying a ConfigException out of a lambda; unwrapped in {@link #read}. */
    private static final class Unchecked extends RuntimeException {
        Unchecked(ConfigException e) {
            super(e);
        }
    }

    /** One mapping's values, read by key. */
    private final class Fields {
        private final Mapping mapping;
        private final String what;

        Fields(Mapping mapping, String what) {
            this.mapping = mapping;
            this.what = what;
        }

        boolean has(String key) {
            return mapping.entries().containsKey(key);
        }

        int line(String key) {
            YamlNode.Entry e = mapping.entries().get(key);
            return e == null ? mapping.line() : e.line();
        }

        Optional<YamlNode> node(String key) {
            return Optional.ofNullable(mapping.entries().get(key)).map(YamlNode.Entry::value);
        }

        YamlNode required(String key) throws ConfigException {
            return node(key).orElseThrow(() -> error(mapping.line(), what + " has no " + key));
        }

        Optional<String> text(String key) throws ConfigException {
            Optional<YamlNode> n = node(key);
            if (n.isEmpty() || (n.get() instanceof Scalar s && s.isNull())) {
                return Optional.empty();
            }
            return Optional.of(scalar(n.get(), key));
        }

        String requiredText(String key) throws ConfigException {
            return scalar(required(key), key);
        }

        Optional<Duration> duration(String key) throws ConfigException {
            Optional<String> t = text(key);
            return t.isEmpty() ? Optional.empty() : Optional.of(parsedText(this, key, t.get(), Durations::parse));
        }

        Optional<Integer> integer(String key, int min, int max) throws ConfigException {
            Optional<String> t = text(key);
            if (t.isEmpty()) {
                return Optional.empty();
            }
            try {
                int v = Integer.parseInt(t.get());
                if (v >= min && v <= max) {
                    return Optional.of(v);
                }
            } catch (NumberFormatException e) {
                // below
            }
            throw error(line(key), key + " must be a whole number from " + min + " to " + max + ", not " + t.get());
        }

        Optional<Double> number(String key) throws ConfigException {
            Optional<String> t = text(key);
            if (t.isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(Double.parseDouble(t.get()));
            } catch (NumberFormatException e) {
                throw error(line(key), key + " must be a number, not " + t.get());
            }
        }

        boolean bool(String key) throws ConfigException {
            String t = text(key).orElse("false");
            return switch (t) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off" -> false;
                default -> throw error(line(key), key + " is true or false, not " + t);
            };
        }

    }

    private static String suggestion(String key, List<String> keys) {
        String best = null;
        int bestDistance = 3;
        for (String k : keys) {
            int d = distance(key, k);
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        return best == null ? "" : " (did you mean '" + best + "'?)";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1),
                        prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
