package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.replica.SignatureCache;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import dev.standin.nativeio.NativeIo;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What bad input does to {@code standin serve}: real sender sessions (captured by
 * {@link SessionCaptureTool} into {@code resources/sessions}: first copies and incrementals, each
 * codec, with and without the sender's signature cache), mutated by a seeded generator, each
 * served in this JVM by the receiver {@code serve} runs against a fresh root. Every case must
 * end with a documented status (0, 4, 5, 6), a one-line bounded reason sent back and logged, no
 * file outside the root touched, every image in the root equal to the previous or the new
 * version, and, when the case did not commit, the unmutated session must then commit.
 *
 * <p>CI runs {@value #DEFAULT_CASES} cases of seed 1; {@code bench/fuzz.sh} runs a million with
 * a random seed ({@code -Dstandin.fuzz.cases=N -Dstandin.fuzz.seed=S}), and prints the table.
 */
class ProtocolFuzzIT {

    static final int DEFAULT_CASES = 3000;
    private static final Set<Integer> DOCUMENTED = Set.of(0, 4, 5, 6);

    enum Mutation {
        BIT_FLIP, OVERWRITE, TRUNCATE, DUPLICATE_FRAME, SWAP_FRAMES, HUGE_LENGTH, FORGED_FIELD, HOSTILE_NAME,
        FORGED_DELTA, PLANTED_LINK
    }

    private static final List<String> HOSTILE_NAMES = List.of("../escape.img", "/etc/escape.img", "a/../../x.img",
            "", ".", "..", "vm.img/", "./vm.img", ".vm.img.standin-points", ".vm.img.standin-sigs.tmp", "new\nline.img",
            "rtl\u202egmi.img", "-rf", "\u0000.img", "x".repeat(256), "y".repeat(240), "../".repeat(1300) + "x",
            "outside-link/vm.img", "dir-link/../vm.img", "vm.img\u0000x");

    private static final List<String> SIDE_NAMES = List.of(".vm.img.standin-sigs.tmp", ".vm.img.standin-sigs",
            ".vm.img.standin-points", ".vm.img.standin-resume", ".vm.img.standin-lock", ".vm.img.standin-journal",
            ".vm.img.standin-partial");

    /** A captured sender session: its bytes and where its control frames and its delta stream lie. */
    private record Session(String name, byte[] bytes, boolean incremental, boolean senderCache, List<int[]> frames,
            int deltaStart) {

        static Session load(String name) throws IOException {
            byte[] bytes;
            try (InputStream in = ProtocolFuzzIT.class.getResourceAsStream("/sessions/" + name + ".bin")) {
                bytes = in.readAllBytes();
            }
            List<int[]> frames = new ArrayList<>(); // {offset, total length, type}
            int at = MessageChannel.PREAMBLE.length;
            while (true) {
                int type = bytes[at];
                int total = 5 + ByteBuffer.wrap(bytes, at + 1, 4).getInt() + 4;
                frames.add(new int[] {at, total, type});
                at += total;
                if (type == Message.Begin.TYPE) {
                    break;
                }
            }
            return new Session(name, bytes, name.startsWith("incremental"), name.contains("sender-cache"), frames, at);
        }
    }

    private final byte[] base = FuzzImages.base();
    private final byte[] target = FuzzImages.target();
    private final String baseSha = sha256(base);
    private final String targetSha = sha256(target);
    private final Signatures baseSignatures = signatures(base);

    @Test
    @Timeout(1800)
    void mutatedSessionsAreRefusedCleanlyOrCommitExactly() throws Exception {
        int cases = Integer.getInteger("standin.fuzz.cases", DEFAULT_CASES);
        long seed = Long.getLong("standin.fuzz.seed", 1L);
        List<Session> sessions = new ArrayList<>();
        for (String name : List.of("first-copy-none", "first-copy-lz4", "first-copy-zstd", "incremental-none",
                "incremental-lz4", "incremental-zstd", "incremental-sender-cache-zstd")) {
            sessions.add(Session.load(name));
        }
        Path shm = Path.of("/dev/shm");
        Path work = Files.isDirectory(shm) ? Files.createTempDirectory(shm, "standin-fuzz")
                : Files.createTempDirectory("standin-fuzz");
        Map<Mutation, Map<Integer, Integer>> table = new EnumMap<>(Mutation.class);
        List<String> failures = new ArrayList<>();
        long started = System.nanoTime();
        try {
            // The unmutated sessions commit: the harness itself is sound.
            for (Session s : sessions) {
                Path caseDir = prepare(work, s);
                assertEquals(0, serve(caseDir, s.bytes(), new ArrayList<>()), s.name());
                assertEquals(targetSha, sha256(Files.readAllBytes(caseDir.resolve("root/vm.img"))), s.name());
            }
            SplittableRandom all = new SplittableRandom(seed);
            for (int i = 0; i < cases && failures.size() < 10; i++) {
                SplittableRandom random = all.split();
                Session session = sessions.get(random.nextInt(sessions.size()));
                Mutation mutation = Mutation.values()[random.nextInt(Mutation.values().length)];
                String label = "seed " + seed + " case " + i + " (" + session.name() + ", " + mutation + ")";
                try {
                    int exit = runCase(work, session, mutation, random);
                    table.computeIfAbsent(mutation, m -> new TreeMap<>()).merge(exit, 1, Integer::sum);
                } catch (AssertionError | Exception e) {
                    failures.add(label + ": " + e);
                }
            }
        } finally {
            deleteTree(work);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.println(render(table, cases, seed, seconds));
        assertEquals(List.of(), failures);
    }

    /** One mutated session against a fresh root; returns its exit status after checking every rule. */
    private int runCase(Path work, Session session, Mutation mutation, SplittableRandom random) throws Exception {
        Path caseDir = prepare(work, session);
        Path root = caseDir.resolve("root");
        Path planted = null;
        byte[] input = session.bytes();
        if (mutation == Mutation.PLANTED_LINK) {
            String side = SIDE_NAMES.get(random.nextInt(SIDE_NAMES.size()));
            planted = root.resolve(side);
            Files.deleteIfExists(planted); // the sigs cache of a sender-cache session may be there
            Files.createSymbolicLink(planted, side.endsWith("points") ? caseDir.resolve("outside")
                    : caseDir.resolve("outside/sentinel"));
        } else {
            input = mutate(session, mutation, random);
        }
        List<String> logged = new ArrayList<>();
        ByteArrayOutputStream replies = new ByteArrayOutputStream();
        int exit = serve(caseDir, input, logged, replies);
        assertTrue(DOCUMENTED.contains(exit), "exit " + exit + " is not documented; log: " + logged);
        if (exit != 0) {
            Message.Failure failure = lastFailure(replies.toByteArray());
            assertEquals(exit, failure.exitStatus());
            assertTrue(!failure.message().isBlank() && !failure.message().contains("\n")
                    && failure.message().length() <= WireText.MAX_REASON + 40, failure.message());
            assertEquals(1, logged.size(), logged.toString());
        }
        if (mutation == Mutation.PLANTED_LINK) {
            assertEquals(4, exit, "a planted link is refused");
        }
        assertOutsideUntouched(caseDir);
        assertImagesAreVersions(root, session);
        Path replica = root.resolve("vm.img");
        if (planted != null) {
            Files.delete(planted); // what the operator does after reading the refusal
            if (session.senderCache() && planted.getFileName().toString().endsWith("-sigs")) {
                // The link stood where the receiver's record was; a real sender, refused once,
                // asks for the signatures next time. The captured session does not ask: rebuild it.
                SignatureCache.store(replica, baseSignatures, SignatureCache.Identity.of(replica));
            }
        }
        if (!Files.exists(replica) || !targetSha.equals(sha256(Files.readAllBytes(replica)))) {
            List<String> replayLog = new ArrayList<>();
            int replay = serve(caseDir, session.bytes(), replayLog);
            assertEquals(0, replay, "the unmutated session commits afterwards: " + replayLog);
            assertEquals(targetSha, sha256(Files.readAllBytes(replica)));
        }
        return exit;
    }

    private Path prepare(Path work, Session session) throws IOException {
        Path caseDir = work.resolve("case");
        deleteTree(caseDir);
        Path root = Files.createDirectories(caseDir.resolve("root"));
        Files.createDirectories(root.resolve("dir"));
        Path outside = Files.createDirectories(caseDir.resolve("outside"));
        Files.writeString(outside.resolve("sentinel"), "precious");
        Files.createSymbolicLink(root.resolve("outside-link"), outside);
        Files.createSymbolicLink(root.resolve("dir-link"), root.resolve("dir"));
        if (session.incremental()) {
            Path replica = Files.write(root.resolve("vm.img"), base);
            if (session.senderCache()) {
                // The receiver's record of the replica the sender holds signatures of (its generation).
                SignatureCache.store(replica, baseSignatures, SignatureCache.Identity.of(replica));
            }
        }
        return caseDir;
    }

    private int serve(Path caseDir, byte[] input, List<String> log) throws IOException {
        return serve(caseDir, input, log, new ByteArrayOutputStream());
    }

    private int serve(Path caseDir, byte[] input, List<String> log, ByteArrayOutputStream replies) throws IOException {
        ReplicaServer server = new ReplicaServer(new ReplicaRoot(caseDir.resolve("root")), caseDir.resolve("state"), 1,
                NativeIo.tryLoad(), log::add);
        return server.serve(new ByteArrayInputStream(input), replies);
    }

    private static Message.Failure lastFailure(byte[] replies) throws IOException {
        MessageChannel channel = new MessageChannel(new ByteArrayInputStream(replies), java.io.OutputStream.nullOutputStream());
        channel.expectPreamble();
        Message last = null;
        for (Optional<Message> m; (m = channel.receiveOrEnd()).isPresent(); ) {
            last = m.get();
        }
        assertTrue(last instanceof Message.Failure, "the last reply is a Failure, not " + last);
        return (Message.Failure) last;
    }

    private static void assertOutsideUntouched(Path caseDir) throws IOException {
        try (var entries = Files.list(caseDir)) {
            List<String> names = entries.map(p -> p.getFileName().toString()).sorted().toList();
            assertTrue(List.of("outside", "root", "state").containsAll(names), names.toString());
        }
        try (var entries = Files.list(caseDir.resolve("outside"))) {
            assertEquals(List.of("sentinel"), entries.map(p -> p.getFileName().toString()).toList());
        }
        assertEquals("precious", Files.readString(caseDir.resolve("outside/sentinel")));
    }

    /** Every image in the root (side files aside) is the previous or the new version, whole. */
    private void assertImagesAreVersions(Path root, Session session) throws IOException {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String name = p.getFileName().toString();
                boolean side = root.relativize(p).toString().contains(".standin-");
                if (side) {
                    continue;
                }
                String sha = sha256(Files.readAllBytes(p));
                boolean ok = sha.equals(targetSha) || (session.incremental() && sha.equals(baseSha));
                assertTrue(ok, name + " is neither the previous nor the new version");
            }
        }
    }

    private byte[] mutate(Session s, Mutation mutation, SplittableRandom random) {
        byte[] b = s.bytes().clone();
        switch (mutation) {
            case BIT_FLIP -> {
                for (int n = 1 + random.nextInt(4); n > 0; n--) {
                    int at = random.nextInt(b.length);
                    b[at] ^= (byte) (1 << random.nextInt(8));
                }
                return b;
            }
            case OVERWRITE -> {
                int at = random.nextInt(b.length);
                for (int n = 1 + random.nextInt(16); n > 0 && at < b.length; n--) {
                    b[at++] = (byte) random.nextInt(256);
                }
                return b;
            }
            case TRUNCATE -> {
                return Arrays.copyOf(b, random.nextInt(b.length));
            }
            case DUPLICATE_FRAME -> {
                int[] f = s.frames().get(random.nextInt(s.frames().size()));
                return splice(b, f[0] + f[1], Arrays.copyOfRange(b, f[0], f[0] + f[1]), 0);
            }
            case SWAP_FRAMES -> {
                int i = random.nextInt(s.frames().size() - 1);
                int[] f = s.frames().get(i);
                int[] g = s.frames().get(i + 1);
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(b, 0, f[0]);
                out.write(b, g[0], g[1]);
                out.write(b, f[0], f[1]);
                out.write(b, g[0] + g[1], b.length - g[0] - g[1]);
                return out.toByteArray();
            }
            case HUGE_LENGTH -> {
                int[] f = s.frames().get(random.nextInt(s.frames().size()));
                int[] lengths = {Integer.MAX_VALUE, -1, 1 << 24, 65536, 4097, f[1] - 9 + 1 + random.nextInt(64)};
                ByteBuffer.wrap(b, f[0] + 1, 4).putInt(lengths[random.nextInt(lengths.length)]);
                return b;
            }
            case FORGED_FIELD -> {
                int[] f = s.frames().get(random.nextInt(s.frames().size()));
                byte[] payload = Arrays.copyOfRange(b, f[0] + 5, f[0] + f[1] - 4);
                if (payload.length > 0) {
                    int at = random.nextInt(payload.length);
                    payload[at] = random.nextBoolean() ? (byte) random.nextInt(256) : (byte) (payload[at] ^ 0x80);
                }
                return splice(b, f[0], frame((byte) f[2], payload), f[1]);
            }
            case HOSTILE_NAME -> {
                int[] open = s.frames().stream().filter(f -> f[2] == Message.Open.TYPE).findFirst().orElseThrow();
                byte[] payload = Arrays.copyOfRange(b, open[0] + 5, open[0] + open[1] - 4);
                int oldName = ByteBuffer.wrap(payload, 0, 2).getShort() & 0xffff;
                byte[] name = HOSTILE_NAMES.get(random.nextInt(HOSTILE_NAMES.size())).getBytes(StandardCharsets.UTF_8);
                if (random.nextInt(8) == 0) {
                    name = Arrays.copyOf(name, name.length + 1);
                    name[name.length - 1] = (byte) 0xc3; // invalid UTF-8 at the end
                }
                ByteBuffer renamed = ByteBuffer.allocate(2 + name.length + payload.length - 2 - oldName)
                        .putShort((short) name.length).put(name).put(payload, 2 + oldName, payload.length - 2 - oldName);
                return splice(b, open[0], frame(Message.Open.TYPE, renamed.array()), open[1]);
            }
            case FORGED_DELTA -> {
                return forgeDelta(s, b, random);
            }
            default -> throw new IllegalArgumentException(mutation.toString());
        }
    }

    /**
     * A delta stream changed where its checksums cannot see it: a header field with the header's
     * CRC recomputed, or a byte of an uncompressed frame (header or payload) with the frame's CRC
     * recomputed (a compressed frame's CRC covers its raw bytes, so its header fields are forged).
     */
    private static byte[] forgeDelta(Session s, byte[] b, SplittableRandom random) {
        int header = s.deltaStart();
        if (b.length < header + 68) {
            return b;
        }
        List<int[]> frames = new ArrayList<>(); // {offset, stored length, codec}
        for (int at = header + 68; at + 32 <= b.length; ) {
            int stored = ByteBuffer.wrap(b, at + 24, 4).getInt();
            frames.add(new int[] {at, stored, b[at + 5]});
            at += 32 + stored;
        }
        List<int[]> plain = frames.stream().filter(f -> f[2] == 0).toList();
        if (plain.isEmpty() || random.nextInt(3) == 0) {
            int at = header + 8 + random.nextInt(56); // blockSize, lengths, basis digest
            b[at] = (byte) random.nextInt(256);
            CRC32C crc = new CRC32C();
            crc.update(b, header, 64);
            ByteBuffer.wrap(b, header + 64, 4).putInt((int) crc.getValue());
            return b;
        }
        int[] f = plain.get(random.nextInt(plain.size()));
        int at = random.nextBoolean() ? f[0] + 8 + random.nextInt(20) : f[0] + 32 + random.nextInt(Math.max(1, f[1]));
        if (at < b.length) {
            b[at] = (byte) random.nextInt(256);
        }
        CRC32C crc = new CRC32C();
        crc.update(b, f[0], 28);
        crc.update(b, f[0] + 32, Math.min(f[1], b.length - f[0] - 32));
        ByteBuffer.wrap(b, f[0] + 28, 4).putInt((int) crc.getValue());
        return b;
    }

    private static byte[] frame(byte type, byte[] payload) {
        ByteBuffer head = ByteBuffer.allocate(5).put(type).putInt(payload.length);
        CRC32C crc = new CRC32C();
        crc.update(head.array());
        crc.update(payload);
        return ByteBuffer.allocate(9 + payload.length).put(head.array()).put(payload).putInt((int) crc.getValue()).array();
    }

    /** {@code b} with {@code removed} bytes at {@code at} replaced by {@code inserted}. */
    private static byte[] splice(byte[] b, int at, byte[] inserted, int removed) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + inserted.length);
        out.write(b, 0, at);
        out.writeBytes(inserted);
        out.write(b, at + removed, b.length - at - removed);
        return out.toByteArray();
    }

    private static String render(Map<Mutation, Map<Integer, Integer>> table, int cases, long seed, double seconds) {
        StringBuilder s = new StringBuilder(String.format("ProtocolFuzzIT: %d cases of seed %d in %.1f s (%.0f cases/s)%n",
                cases, seed, seconds, cases / seconds));
        s.append(String.format("| %-15s | %8s | %8s | %8s | %8s |%n", "mutation", "exit 0", "exit 4", "exit 5", "exit 6"));
        s.append("| --- | --- | --- | --- | --- |\n");
        for (Map.Entry<Mutation, Map<Integer, Integer>> e : table.entrySet()) {
            Map<Integer, Integer> row = e.getValue();
            s.append(String.format("| %-15s | %8d | %8d | %8d | %8d |%n", e.getKey(), row.getOrDefault(0, 0),
                    row.getOrDefault(4, 0), row.getOrDefault(5, 0), row.getOrDefault(6, 0)));
        }
        return s.toString();
    }

    private static Signatures signatures(byte[] image) {
        Signatures s = new Signatures(image.length, FuzzImages.BLOCK);
        new SignatureBuilder(s).add(0, ByteBuffer.wrap(image), image.length);
        return s;
    }

    private static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (var walk = Files.walk(p)) {
                for (Path f : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }
}
