package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.OpenSshServer;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** standin sync to a replica on another host, through a real OpenSSH sshd on 127.0.0.1. */
class RemoteSyncIT {

    @TempDir
    static Path shared;

    static OpenSshServer sshd;

    @TempDir
    Path dir;

    @BeforeAll
    static void startSshd() throws Exception {
        sshd = OpenSshServer.start(shared.resolve("sshd"), null);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        sshd.close();
    }

    @org.junit.jupiter.api.AfterEach
    void receiversEnded() throws Exception {
        OpenSshServer.awaitReceiversEnded(dir);
    }

    private Cli.Result sync(Path source, String destination, String... extra) {
        List<String> args = new ArrayList<>(List.of("sync", source.toString(), destination, "--json",
                "--state-dir", dir.resolve("state").toString()));
        List<String> ssh = sshd.sshArgs();
        for (int i = 0; i < ssh.size(); i += 2) {
            if (!List.of(extra).contains(ssh.get(i))) { // a test's own value replaces the server's
                args.add(ssh.get(i));
                args.add(ssh.get(i + 1));
            }
        }
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void firstCopyThenIncrementalUsesTheSenderCache() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 24 << 20, 1);
        Path replica = dir.resolve("replica.img");
        Cli.Result first = sync(source, sshd.url(replica));
        assertEquals(0, first.exit(), first.err());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertTrue(first.json().get("firstCopy").asBoolean());

        long changed = Images.overwriteBlocks(source, 20, 4096, 7);
        Cli.Result second = sync(source, sshd.url(replica));
        assertEquals(0, second.exit(), second.err());
        JsonNode stats = second.json();
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertEquals("sender-cache", stats.get("signatures").asText());
        assertEquals("zstd-stream", stats.get("compression").asText(), "zstd as one stream to a receiver that has it");
        assertEquals(0, stats.get("replicaBytesRead").asLong());
        assertTrue(stats.get("literalBytes").asLong() <= changed, stats.toString());
        assertTrue(stats.get("wireBytes").asLong() > 0);
    }

    /**
     * The sender computes the replica's new signatures as it reads (sender-signatures): after a
     * first copy and after an incremental with moved and zero blocks, its cache holds exactly
     * what the receiver recorded from the blocks it wrote, and no entry crossed the wire for it.
     */
    @Test
    void theSendersOwnSignaturesAreTheReceiversRecord() throws Exception {
        int blockSize = 4096;
        Path source = Images.create(dir.resolve("vm.img"), 8 << 20, 21);
        Path replica = dir.resolve("replica.img");
        Cli.Result first = sync(source, sshd.url(replica), "--compress", "none");
        assertEquals(0, first.exit(), first.err());
        assertSenderCacheIsTheReceiversRecord(replica, blockSize);
        // Wire: the delta (literal bytes, headers) and a few small messages, no 12-byte entry per block.
        long blocks = (8 << 20) / blockSize;
        long overhead = first.json().get("wireBytes").asLong() - first.json().get("literalBytes").asLong();
        assertTrue(overhead < blocks * 12 / 4, "overhead " + overhead + " bytes for " + blocks + " blocks");

        try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
            byte[] moved = new byte[3 * blockSize];
            f.seek(100L * blockSize);
            f.readFully(moved);
            f.seek(700L * blockSize + 512); // data that moved by a whole number of sectors
            f.write(moved);
            f.seek(40L * blockSize);
            f.write(new byte[5 * blockSize]); // zeroed
        }
        Images.overwriteBlocks(source, 7, blockSize, 22);
        Cli.Result second = sync(source, sshd.url(replica));
        assertEquals(0, second.exit(), second.err());
        assertEquals("sender-cache", second.json().get("signatures").asText());
        assertTrue(second.json().get("blocksMoved").asLong() > 0, second.json().toString());
        assertSenderCacheIsTheReceiversRecord(replica, blockSize);
        Cli.Result third = sync(source, sshd.url(replica));
        assertEquals(0, third.exit(), third.err());
        assertEquals("sender-cache", third.json().get("signatures").asText());
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    private void assertSenderCacheIsTheReceiversRecord(Path replica, int blockSize) throws Exception {
        RemoteLocation location = RemoteLocation.parse(sshd.url(replica)).orElseThrow();
        SenderCache.Entry sent = SenderCache.of(dir.resolve("state"), location, location.path()).load().orElseThrow();
        // The receiver records its signatures after it has answered Committed: wait for its session to end.
        java.util.Optional<dev.standin.delta.Signatures> record = java.util.Optional.empty();
        for (long deadline = System.nanoTime() + 10_000_000_000L; record.isEmpty() && System.nanoTime() < deadline; ) {
            record = dev.standin.agent.replica.SignatureCache.load(replica, blockSize);
            if (record.isEmpty()) {
                Thread.sleep(20);
            }
        }
        dev.standin.delta.Signatures recorded = record.orElseThrow();
        assertEquals(recorded, sent.signatures());
        assertTrue(java.util.Arrays.equals(recorded.digest(), sent.generation()));
    }

    @Test
    void withoutTheSenderCacheTheReceiverSendsItsStoredSignaturesAndReadsNothing() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 16 << 20, 2);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, sync(source, sshd.url(replica)).exit());
        deleteRecursively(dir.resolve("state/remote"));
        Images.overwriteBlocks(source, 5, 4096, 3);
        Cli.Result again = sync(source, sshd.url(replica));
        assertEquals(0, again.exit(), again.err());
        assertEquals("receiver-cache", again.json().get("signatures").asText());
        assertEquals(0, again.json().get("replicaBytesRead").asLong());
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    @Test
    void aReplicaChangedOnTheReceiverIsReadAgainAndRepaired() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 16 << 20, 4);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, sync(source, sshd.url(replica)).exit());
        Images.overwriteBlocks(replica, 3, 4096, 99); // someone wrote to the replica behind standin's back
        Cli.Result again = sync(source, sshd.url(replica));
        assertEquals(0, again.exit(), again.err());
        assertEquals("receiver-read", again.json().get("signatures").asText());
        assertTrue(again.json().get("replicaBytesRead").asLong() > 0);
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    /** A replica seeded by other means (a shipped disk, a cp): the first cycle reads it, sends only the difference. */
    @Test
    void aPreCopiedReplicaIsSeededNotCopiedAgain() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 24 << 20, 17);
        Path replica = dir.resolve("replica.img");
        java.nio.file.Files.copy(source, replica);
        long changed = Images.overwriteBlocks(source, 10, 4096, 18);
        Cli.Result r = sync(source, sshd.url(replica));
        assertEquals(0, r.exit(), r.err());
        JsonNode stats = r.json();
        assertEquals(false, stats.get("firstCopy").asBoolean());
        assertEquals("receiver-read", stats.get("signatures").asText());
        assertTrue(stats.get("literalBytes").asLong() <= changed, stats.toString());
        long allocated = Images.allocated(source);
        long read = stats.get("sourceBytesRead").asLong();
        assertTrue(read > allocated && read <= allocated + 10 * 256 * 1024,
                "hashed whole while the receiver read its replica, then the differing segments again: " + stats);
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    /** Recovery points are kept on the receiving host, one per committed cycle, each restorable there. */
    @Test
    void everyCommitOverSshIsARecoveryPoint() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 8 << 20, 19);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, sync(source, sshd.url(replica)).exit());
        String first = Images.sha256(source);
        Images.overwriteBlocks(source, 30, 4096, 20);
        assertEquals(0, sync(source, sshd.url(replica), "--keep-points", "5").exit());
        Cli.Result points = Cli.run("points", replica.toString(), "--json");
        assertEquals(0, points.exit(), points.err());
        assertEquals(2, points.json().get("points").size(), points.out());
        Path restored = dir.resolve("restored.img");
        Cli.Result restore = Cli.run("restore", replica + "@1", restored.toString());
        assertEquals(0, restore.exit(), restore.err());
        assertEquals(first, Images.sha256(restored));
    }

    @Test
    void dryRunWritesNothing() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 8 << 20, 5);
        Path replica = dir.resolve("replica.img");
        Cli.Result r = sync(source, sshd.url(replica), "-n");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.json().get("dryRun").asBoolean());
        assertTrue(java.nio.file.Files.notExists(replica));
    }

    @Test
    void severalDisksShareOneConnection() throws Exception {
        Path a = Images.create(dir.resolve("a.img"), 8 << 20, 6);
        Path b = Images.create(dir.resolve("b.img"), 12 << 20, 7);
        Path c = Images.create(dir.resolve("c.img"), 4 << 20, 8);
        Path replicas = java.nio.file.Files.createDirectories(dir.resolve("replicas"));
        List<String> args = new ArrayList<>(List.of("sync", a.toString(), b.toString(), c.toString(),
                sshd.url(replicas) + "/", "--json", "--state-dir", dir.resolve("state").toString()));
        args.addAll(sshd.sshArgs());
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        assertEquals(3, r.out().strip().split("\n").length, r.out());
        for (Path p : List.of(a, b, c)) {
            assertEquals(Images.sha256(p), Images.sha256(replicas.resolve(p.getFileName())));
        }
    }

    @Test
    void aChangedHostKeyIsRefusedWithTheOfferedFingerprint() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 9);
        Path otherKey = dir.resolve("other_ed25519");
        Images.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey.toString());
        Path knownHosts = dir.resolve("known_hosts");
        java.nio.file.Files.writeString(knownHosts, "[127.0.0.1]:" + sshd.port() + " "
                + java.nio.file.Files.readString(otherKey.resolveSibling("other_ed25519.pub")));
        String fingerprint = Images.run("ssh-keygen", "-l", "-f",
                shared.resolve("sshd/host_ed25519.pub").toString()).split(" ")[1];
        Cli.Result r = sync(source, sshd.url(dir.resolve("replica.img")), "--known-hosts", knownHosts.toString());
        assertEquals(4, r.exit(), r.err());
        assertTrue(r.err().contains("CHANGED") && r.err().contains(fingerprint), r.err());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(java.nio.file.Files.notExists(dir.resolve("replica.img")));
    }

    @Test
    void anUnknownHostIsRefused() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 10);
        Path empty = java.nio.file.Files.createFile(dir.resolve("empty_known_hosts"));
        Cli.Result r = sync(source, sshd.url(dir.resolve("replica.img")), "--known-hosts", empty.toString());
        assertEquals(4, r.exit(), r.err());
        assertTrue(r.err().contains("not in known_hosts") && r.err().contains("SHA256:"), r.err());
        assertTrue(r.err().contains("ssh-keyscan -p " + sshd.port() + " 127.0.0.1 >> " + empty), r.err());
    }

    @Test
    void anUnreachableHostIsNamedInWordsNotByAJavaClass() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 10);
        Cli.Result unknown = sync(source, "no-such-host.invalid:" + dir.resolve("replica.img"));
        assertEquals(4, unknown.exit(), unknown.err());
        assertTrue(unknown.err().contains("no-such-host.invalid: host not found"), unknown.err());
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int closedPort = probe.getLocalPort();
            probe.close(); // nothing listens there now
            Cli.Result refused = sync(source, "ssh://127.0.0.1:" + closedPort + dir.resolve("replica.img"));
            assertEquals(4, refused.exit(), refused.err());
            assertTrue(refused.err().contains("connection refused"), refused.err());
            for (Cli.Result r : List.of(unknown, refused)) {
                assertFalse(r.err().contains("java."), r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
            }
        }
    }

    @Test
    void aMissingRemoteStandinIsReportedWithWhatTheRemoteSaid() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 11);
        Cli.Result r = sync(source, sshd.url(dir.resolve("replica.img")), "--remote-standin", "/nonexistent/standin");
        assertEquals(4, r.exit(), r.err());
        assertTrue(r.err().contains("'/nonexistent/standin' was not found on 127.0.0.1")
                && r.err().contains("/nonexistent/standin: No such file"), r.err());
        assertTrue(r.err().contains("install standin there or name it with --remote-standin"), r.err());
    }

    @Test
    void aRemoteStandinThatStartsAndDiesIsNotCalledMissing() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 11);
        Cli.Result r = sync(source, sshd.url(dir.resolve("replica.img")), "--remote-standin", "/bin/false");
        assertEquals(4, r.exit(), r.err());
        assertTrue(r.err().contains("standin started on 127.0.0.1 but ended with exit status 1 before its greeting"),
                r.err());
        assertFalse(r.err().contains("install"), r.err());
    }

    /**
     * The receiver commits, then the connection is cut before its Committed reaches the sender:
     * the sender must not claim the replica stayed at its previous point. The cut is exact: the
     * remote command's output goes through dd bs=1 count=N (head -c would hold it in stdio
     * buffers), which passes everything the receiver says before Committed (measured by an
     * identical cycle through tee) and nothing after. A cut ends both directions: once the first
     * byte of Committed has arrived (so the receiver has committed), the receiver is killed, as
     * sshd would end it. Without that, a Committed written into the pipe before dd exited was
     * lost without an error and both sides waited for each other.
     */
    @Test
    void aCutAfterTheWholeDeltaSaysTheOutcomeIsUnknownAndTheNextCycleSettlesIt() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 8 << 20, 13);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, sync(source, sshd.url(replica)).exit());
        // Each cycle below starts once the last receiver has recorded its signatures: the receiver
        // then knows its generation and says as many bytes as in the measured cycle.
        OpenSshServer.awaitReceiversEnded(dir);
        Path said = dir.resolve("receiver-said");
        Path tee = script("tee.sh", "\"" + sshd.launcher() + "\" \"$@\" | tee " + said);
        Images.overwriteBlocks(source, 40, 4096, 1);
        Cli.Result measured = sync(source, sshd.url(replica), "--remote-standin", tee.toString());
        assertEquals(0, measured.exit(), measured.err());
        assertEquals("sender-cache", measured.json().get("signatures").asText(), "the receiver sent no signatures");
        java.io.ByteArrayOutputStream committed = new java.io.ByteArrayOutputStream();
        new MessageChannel(java.io.InputStream.nullInputStream(), committed)
                .send(new Message.Committed(new byte[32], 2));
        OpenSshServer.awaitReceiversEnded(dir); // and tee has written all it passed
        long beforeCommitted = java.nio.file.Files.size(said) - committed.size();

        Images.overwriteBlocks(source, 40, 4096, 2); // as many blocks: the receiver says as many bytes
        String next = Images.sha256(source);
        Path cut = script("cut.sh", "pid=$(mktemp)\n"
                + "sh -c 'echo $$ > \"$0\"; exec \"$@\"' \"$pid\" \"" + sshd.launcher() + "\" \"$@\""
                + " | { dd bs=1 status=none count=" + beforeCommitted + "; dd bs=1 status=none count=1 of=/dev/null;"
                + " kill \"$(cat \"$pid\")\"; }\n"
                + "rm -f \"$pid\"");
        Cli.Result r = sync(source, sshd.url(replica), "--remote-standin", cut.toString());
        assertEquals(4, r.exit(), r.err());
        assertTrue(r.err().contains("after the whole delta was sent and before the receiver confirmed its commit; "
                + "whether the replica is at the new point or still at its previous one is unknown, and the next "
                + "cycle settles it"), r.err());
        assertFalse(r.err().contains("stays at its last committed point"), r.err());
        OpenSshServer.awaitReceiversEnded(dir);
        Cli.Result settled = sync(source, sshd.url(replica));
        assertEquals(0, settled.exit(), settled.err());
        assertEquals(next, Images.sha256(replica));
    }

    private Path script(String name, String line) throws java.io.IOException {
        Path script = java.nio.file.Files.writeString(dir.resolve(name), "#!/bin/sh\n" + line + "\n");
        script.toFile().setExecutable(true);
        return script;
    }

    @Test
    void aMissingRemoteDirectoryIsOneClearError() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 12);
        Cli.Result r = sync(source, sshd.url(dir.resolve("no/such/dir/replica.img")));
        assertTrue(r.exit() != 0, r.err());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(r.err().contains("no such directory"), r.err());
    }

    /**
     * A sender cache that claims the receiver's generation but holds wrong signatures (a bug, a
     * disk error on the sender): the receiver refuses the delta (its digest cannot match), and the
     * next cycle, no longer trusting the cache, repairs the replica.
     */
    @Test
    void aWrongSenderCacheFailsOneCycleLoudlyAndTheNextRepairs() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 8 << 20, 14);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, sync(source, sshd.url(replica)).exit());
        RemoteLocation location = RemoteLocation.parse(sshd.url(replica)).orElseThrow();
        SenderCache cache = SenderCache.of(dir.resolve("state"), location, location.path());
        SenderCache.Entry entry = cache.load().orElseThrow();
        // The source's block 3 changes, and the cache wrongly says the replica already has it.
        byte[] block = new byte[4096];
        new java.util.Random(15).nextBytes(block);
        try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
            f.seek(3 * 4096);
            f.write(block);
        }
        dev.standin.delta.Signatures one = new dev.standin.delta.Signatures(4096, 4096);
        new dev.standin.delta.SignatureBuilder(one).add(0, java.nio.ByteBuffer.wrap(block), 4096);
        dev.standin.delta.Signatures wrong = entry.signatures();
        wrong.set(3, one.weak(0), one.strong(0));
        cache.store(wrong, entry.generation());

        Cli.Result poisoned = sync(source, sshd.url(replica));
        assertEquals(6, poisoned.exit(), poisoned.err());
        assertTrue(poisoned.err().contains("digest"), poisoned.err());
        Cli.Result next = sync(source, sshd.url(replica));
        assertEquals(0, next.exit(), next.err());
        assertEquals("receiver-cache", next.json().get("signatures").asText());
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    /** No -i: the key comes from a real ssh-agent, as on an operator's workstation. */
    @Test
    void keysComeFromSshAgent() throws Exception {
        Path socket = dir.resolve("agent.sock");
        Process agent = new ProcessBuilder("ssh-agent", "-D", "-a", socket.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("agent.log").toFile()).start();
        try {
            for (int i = 0; i < 100 && java.nio.file.Files.notExists(socket); i++) {
                Thread.sleep(20);
            }
            ProcessBuilder add = new ProcessBuilder("ssh-add", sshd.clientKey().toString()).redirectErrorStream(true);
            add.environment().put("SSH_AUTH_SOCK", socket.toString());
            assertEquals(0, add.start().waitFor());
            Path source = Images.create(dir.resolve("vm.img"), 2 << 20, 16);
            Path replica = dir.resolve("replica.img");
            ProcessBuilder sync = new ProcessBuilder(Cli.javaCommand("256m", "sync", source.toString(),
                    sshd.url(replica), "--state-dir", dir.resolve("state").toString(), "--known-hosts",
                    sshd.knownHosts().toString(), "--ssh-config", "none", "--remote-standin", sshd.launcher().toString()))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("sync.log").toFile());
            sync.environment().put("SSH_AUTH_SOCK", socket.toString());
            assertEquals(0, sync.start().waitFor(), java.nio.file.Files.readString(dir.resolve("sync.log")));
            assertEquals(Images.sha256(source), Images.sha256(replica));
        } finally {
            agent.destroy();
        }
    }

    /** A limit can only be checked from below: the cycle may not send faster than it. */
    @Test
    void bwlimitHoldsTheSendingRate() throws Exception {
        Path source = Images.createRandom(dir.resolve("vm.img"), 6 << 20, 13);
        long started = System.nanoTime();
        Cli.Result r = sync(source, sshd.url(dir.resolve("replica.img")), "--bwlimit", "2M", "--compress", "none");
        double seconds = (System.nanoTime() - started) / 1e9;
        assertEquals(0, r.exit(), r.err());
        long sent = r.json().get("wireBytes").asLong();
        // a full burst (1/10 s of the rate) may go at once, the rest at 2 MiB/s
        double floor = (sent - (2 << 20) / 10.0) / (2 << 20);
        assertTrue(seconds >= floor, sent + " bytes in " + seconds + " s: faster than 2 MiB/s");
        assertEquals(Images.sha256(source), Images.sha256(dir.resolve("replica.img")));
    }

    static void deleteRecursively(Path p) throws java.io.IOException {
        if (!java.nio.file.Files.exists(p)) {
            return;
        }
        try (var walk = java.nio.file.Files.walk(p)) {
            for (Path x : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.delete(x);
            }
        }
    }
}
