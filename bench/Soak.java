import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The supervisor under a day's weather, compressed: VMS images written by guest-like writers
 * (quiesced through script hooks, as an application's pre/post hooks do), one agent protecting
 * them to a loopback sshd with an RPO, sshd killed (listener and sessions) for OUTAGE twice.
 * Prints RPO compliance (share of samples in which each target's newest point was within its
 * RPO), the worst lag, how long after each outage every target was back within its RPO, cycles
 * and retries, the agent's CPU seconds and peak RSS, and whether every replica equals its source
 * after a final cycle. Run by bench/soak.sh (which sets the arguments); nothing here asserts.
 *
 * java -cp standin.jar bench/Soak.java WORKDIR REPO VMS IMAGE_MIB RPO_SECONDS MINUTES OUTAGE_SECONDS
 */
public final class Soak {

    static Path work;
    static Path repo;

    public static void main(String[] args) throws Exception {
        work = Path.of(args[0]).toAbsolutePath();
        repo = Path.of(args[1]).toAbsolutePath();
        int vms = Integer.parseInt(args[2]);
        long imageBytes = Long.parseLong(args[3]) << 20;
        int rpo = Integer.parseInt(args[4]);
        Duration length = Duration.ofMinutes(Long.parseLong(args[5]));
        Duration outage = Duration.ofSeconds(Long.parseLong(args[6]));
        for (String fresh : List.of("state", "replicas")) { // a run starts from no replicas, no catalog, no pauses
            if (Files.exists(work.resolve(fresh))) {
                run("rm", "-rf", work.resolve(fresh).toString());
            }
        }
        Files.createDirectories(work.resolve("replicas"));
        String port = run(repo.resolve("install/loopback-sshd.sh").toString(), "start", work.resolve("sshd").toString()).strip();
        Process agent = null;
        AtomicBoolean writing = new AtomicBoolean(true);
        List<Thread> writers = new ArrayList<>();
        try {
            StringBuilder config = new StringBuilder(String.join("\n",
                    "state-dir: " + work.resolve("state"), "metrics: off", "max-parallel: 2",
                    "identity: " + work.resolve("sshd/client_ed25519"), "known-hosts: " + work.resolve("sshd/known_hosts"),
                    "ssh-config: none", "remote-standin: " + repo.resolve("install/standin"), "vms:", ""));
            for (int i = 0; i < vms; i++) {
                String vm = "vm" + i;
                Path image = work.resolve(vm + ".img");
                if (!Files.exists(image) || Files.size(image) != imageBytes) {
                    fill(image, imageBytes, i);
                }
                script(work.resolve(vm + ".pre"), "token=$$-$(date +%s%N)\necho $token > " + work.resolve(vm + ".frozen")
                        + "\nwhile [ -e " + work.resolve("writing") + " ] && [ \"$(cat " + work.resolve(vm + ".ack")
                        + " 2>/dev/null)\" != \"$token\" ]; do sleep 0.01; done");
                script(work.resolve(vm + ".post"), "rm -f " + work.resolve(vm + ".frozen"));
                Files.createDirectories(work.resolve("replicas/" + vm));
                config.append("  ").append(vm).append(":\n    disks:\n      - source: ").append(image)
                        .append("\n        snapshot: script:").append(work.resolve(vm + ".pre")).append(':')
                        .append(work.resolve(vm + ".post")).append("\n    targets:\n      - dest: ssh://root@127.0.0.1:")
                        .append(port).append(work.resolve("replicas/" + vm)).append("/\n        rpo: ").append(rpo)
                        .append("s\n");
            }
            Files.writeString(work.resolve("standin.yaml"), config);
            Files.writeString(work.resolve("writing"), "");
            for (int i = 0; i < vms; i++) {
                int n = i;
                Thread t = new Thread(() -> write(n, imageBytes, writing), "writer-" + i);
                t.start();
                writers.add(t);
            }
            ProcessBuilder pb = new ProcessBuilder(repo.resolve("install/standin").toString(), "agent", "--socket",
                    work.resolve("agent.sock").toString(), "--config", work.resolve("standin.yaml").toString())
                    .redirectErrorStream(true).redirectOutput(work.resolve("agent.log").toFile());
            agent = pb.start();
            for (int i = 0; i < 300 && !read(work.resolve("agent.log")).contains("listening on"); i++) {
                if (!agent.isAlive()) {
                    throw new IllegalStateException("the agent ended: " + read(work.resolve("agent.log")));
                }
                Thread.sleep(100);
            }
            long started = System.nanoTime();
            List<long[]> outages = List.of(new long[] {length.toSeconds() / 3, outage.toSeconds()},
                    new long[] {2 * length.toSeconds() / 3, outage.toSeconds()});
            Map<String, long[]> within = new LinkedHashMap<>(); // target -> {samples within, samples, max lag}
            long[] backAfter = new long[outages.size()];
            java.util.Arrays.fill(backAfter, -1);
            int active = -1;
            int next = 0;
            long[] restarted = new long[outages.size()];
            java.util.Arrays.fill(restarted, -1);
            long peakRss = 0;
            int sampleEvery = 5;
            for (long s = 0; s < length.toSeconds(); s = (System.nanoTime() - started) / 1_000_000_000L) {
                if (active < 0 && next < outages.size() && s >= outages.get(next)[0]) {
                    killSshd();
                    active = next++;
                    System.out.printf("%4d s: sshd killed%n", s);
                } else if (active >= 0 && s >= outages.get(active)[0] + outages.get(active)[1]) {
                    startSshd();
                    restarted[active] = s;
                    active = -1;
                    System.out.printf("%4d s: sshd back%n", s);
                }
                JsonNode status = status();
                boolean allWithin = true;
                for (JsonNode vm : status.get("vms")) {
                    for (JsonNode t : vm.get("targets")) {
                        long age = t.get("lastPointAgeSeconds").isNull() ? s : t.get("lastPointAgeSeconds").asLong();
                        long[] w = within.computeIfAbsent(vm.get("name").asText(), k -> new long[3]);
                        boolean ok = age <= t.get("rpoSeconds").asLong();
                        w[0] += ok ? 1 : 0;
                        w[1]++;
                        w[2] = Math.max(w[2], age);
                        allWithin &= ok;
                    }
                }
                for (int o = 0; o < outages.size(); o++) {
                    if (backAfter[o] < 0 && restarted[o] >= 0 && allWithin) {
                        backAfter[o] = s - restarted[o];
                    }
                }
                peakRss = Math.max(peakRss, rssKib(agent.pid()));
                Thread.sleep(sampleEvery * 1000L);
            }
            if (active >= 0) {
                startSshd();
            }
            writing.set(false);
            for (Thread t : writers) {
                t.join();
            }
            Files.deleteIfExists(work.resolve("writing"));
            long cpuTicks = cpuTicks(agent.pid());
            int exact = 0;
            for (int i = 0; i < vms; i++) {
                standin("pause", "vm" + i);
            }
            for (int i = 0; i < vms; i++) {
                standin("run", "vm" + i, "--wait");
            }
            Thread.sleep(2000); // the receivers record their signatures after answering
            for (int i = 0; i < vms; i++) {
                if (sha(work.resolve("vm" + i + ".img")).equals(sha(work.resolve("replicas/vm" + i + "/vm" + i + ".img")))) {
                    exact++;
                }
            }
            long ok = 0;
            long failed = 0;
            for (String line : standin("history", "--json", "--limit", "100000").lines().toList()) {
                if (new ObjectMapper().readTree(line).get("result").asText().equals("ok")) {
                    ok++;
                } else {
                    failed++;
                }
            }
            System.out.printf("%n%d VMs x %d MiB, RPO %d s, %d min, sshd down %d s twice%n", vms, imageBytes >> 20, rpo,
                    length.toMinutes(), outage.toSeconds());
            System.out.println("| target | RPO compliance | worst lag |\n| --- | --- | --- |");
            within.forEach((t, w) -> System.out.printf("| %s | %.1f %% | %d s |%n", t, 100.0 * w[0] / w[1], w[2]));
            for (int o = 0; o < outages.size(); o++) {
                System.out.printf("outage %d: every target within its RPO %s after it ended%n", o + 1,
                        backAfter[o] < 0 ? "not within the run" : backAfter[o] + " s (at most " + (backAfter[o]
                                + sampleEvery) + ")");
            }
            System.out.printf("cycles: %d ok, %d failed (retries); agent CPU %.1f s, peak RSS %d MiB; replicas equal "
                    + "to their source after a last cycle: %d of %d%n", ok, failed, cpuTicks / 100.0, peakRss / 1024,
                    exact, vms);
        } finally {
            writing.set(false);
            for (Thread t : writers) {
                t.join();
            }
            if (agent != null) {
                agent.destroy();
                agent.waitFor(30, TimeUnit.SECONDS);
            }
            killSshd();
        }
    }

    /** A guest: 32 random 4 KiB blocks every 200 ms, pausing while its VM is frozen. */
    static void write(int vm, long bytes, AtomicBoolean writing) {
        SplittableRandom random = new SplittableRandom(vm);
        byte[] block = new byte[4096];
        Path frozen = work.resolve("vm" + vm + ".frozen");
        try (RandomAccessFile f = new RandomAccessFile(work.resolve("vm" + vm + ".img").toFile(), "rw")) {
            while (writing.get()) {
                String token = read(frozen);
                if (!token.isEmpty()) {
                    Files.writeString(work.resolve("vm" + vm + ".ack"), token + "\n");
                    Thread.sleep(5);
                    continue;
                }
                for (int i = 0; i < 32; i++) {
                    random.nextBytes(block);
                    f.seek(random.nextLong(bytes / 4096) * 4096);
                    f.write(block);
                }
                Thread.sleep(200);
            }
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    static String read(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException e) {
            return "";
        }
    }

    static void fill(Path image, long bytes, int seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        byte[] chunk = new byte[1 << 20];
        try (var out = Files.newOutputStream(image)) {
            for (long done = 0; done < bytes; done += chunk.length) {
                random.nextBytes(chunk);
                out.write(chunk);
            }
        }
    }

    static void script(Path p, String body) throws IOException {
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        p.toFile().setExecutable(true);
    }

    static void killSshd() throws Exception {
        Path pid = work.resolve("sshd/sshd.pid");
        if (Files.exists(pid)) {
            String listener = Files.readString(pid).strip();
            run("pkill", "-9", "-P", listener); // the sessions, as a crash or a reboot ends them
            run("kill", listener);
            for (int i = 0; i < 50 && Files.exists(pid); i++) {
                Thread.sleep(100);
            }
            Files.deleteIfExists(pid);
        }
    }

    static void startSshd() throws Exception {
        run("/usr/sbin/sshd", "-f", work.resolve("sshd/sshd_config").toString(), "-E",
                work.resolve("sshd/sshd.log").toString());
    }

    static JsonNode status() throws Exception {
        return new ObjectMapper().readTree(standin("status", "--json"));
    }

    static String standin(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(repo.resolve("install/standin").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("STANDIN_AGENT_SOCKET", work.resolve("agent.sock").toString());
        Process p = pb.redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }

    static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }

    static long rssKib(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return 0;
    }

    static long cpuTicks(long pid) throws IOException {
        String[] f = Files.readString(Path.of("/proc/" + pid + "/stat")).replaceAll(".*\\) ", "").split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
    }

    static String sha(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(p)) {
            byte[] b = new byte[1 << 20];
            for (int n; (n = in.read(b)) > 0; ) {
                md.update(b, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
