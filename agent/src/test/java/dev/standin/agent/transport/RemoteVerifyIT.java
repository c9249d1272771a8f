package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** standin verify on a replica on another host: the scrub runs there; --against repairs over SSH. */
class RemoteVerifyIT {

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

    private Cli.Result run(String command, Path first, String destination, String... extra) {
        List<String> args = new ArrayList<>(List.of(command));
        if (first != null) {
            args.add(first.toString());
        }
        args.addAll(List.of(destination, "--json", "--state-dir", dir.resolve("state").toString()));
        args.addAll(sshd.sshArgs());
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void driftIsFoundOnTheReceiverAndRepairedAgainstTheSource() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 16 << 20, 1);
        Path replica = dir.resolve("replica.img");
        String url = sshd.url(replica);
        assertEquals(0, run("sync", source, url).exit());

        Cli.Result clean = run("verify", null, url);
        assertEquals(0, clean.exit(), clean.err());
        assertEquals("clean", clean.json().get("status").asText());

        try (RandomAccessFile f = new RandomAccessFile(replica.toFile(), "rw")) {
            f.seek(5 * 4096 + 17);
            f.write(f.read() ^ 0x40); // one bit flipped, as bit rot would
        }
        Cli.Result drift = run("verify", null, url);
        assertEquals(6, drift.exit(), drift.err());
        JsonNode scrub = drift.json().get("scrub");
        assertEquals(1, scrub.get("blocksDrifted").asLong(), scrub.toString());
        assertEquals(5 * 4096, scrub.get("driftedRanges").get(0).get("offset").asLong());

        Cli.Result repaired = run("verify", null, url, "--against", source.toString());
        assertEquals(0, repaired.exit(), repaired.err());
        assertEquals("receiver-scrub", repaired.json().get("repair").get("signatures").asText());
        assertEquals(4096, repaired.json().get("repair").get("literalBytes").asLong());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertEquals(0, run("verify", null, url).exit());
    }

    /** As the supervisor's scheduled verify runs: the scrub and the repair in one cycle, the drift counted. */
    @Test
    void aRepairCycleCountsTheDriftItRepairs() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 8 << 20, 3);
        Path replica = dir.resolve("replica.img");
        String url = sshd.url(replica);
        assertEquals(0, run("sync", source, url).exit());
        OpenSshServer.awaitReceiversEnded(dir);
        try (RandomAccessFile f = new RandomAccessFile(replica.toFile(), "rw")) {
            f.seek(3 << 20);
            f.write(new byte[4096]);
        }
        Cli.Result repaired = run("verify", null, url, "--against", source.toString());
        assertEquals(0, repaired.exit(), repaired.err());
        JsonNode scrub = repaired.json().get("scrub");
        assertEquals(1, scrub.get("blocksDrifted").asLong(), repaired.out());
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    @Test
    void verifyingAMissingReplicaWritesNothing() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 1 << 20, 2);
        Cli.Result r = run("verify", null, sshd.url(dir.resolve("missing.img")), "--against", source.toString());
        assertEquals(4, r.exit(), r.err());
        assertTrue(r.err().contains("no replica"), r.err());
        assertTrue(java.nio.file.Files.notExists(dir.resolve("missing.img")));
    }
}
