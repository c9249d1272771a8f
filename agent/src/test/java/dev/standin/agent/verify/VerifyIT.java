package dev.standin.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.agent.replica.SignatureCache;
import dev.standin.failure.ExitStatus;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code standin verify} on real files: a clean replica passes, flipped bytes (in data, in a hole,
 * in the short last block) are found and named, the next sync then rewrites exactly those blocks,
 * {@code --against} repairs at once, and a missing or damaged record is said to be one.
 */
class VerifyIT {

    private static final long MIB = 1 << 20;
    /** Not a multiple of 4096: the last block is 1234 bytes long. */
    private static final long SIZE = 32 * MIB + 1234;
    private static final long LAST_BLOCK = 32 * MIB;

    @TempDir
    Path dir;

    private Path state() {
        return dir.resolve("state");
    }

    private static Cli.Result verify(Path replica, String... extra) {
        List<String> args = new ArrayList<>(List.of("verify", replica.toString(), "--json"));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    /**
     * A source whose [20 MiB, 32 MiB) is a hole, with data in its short last block; and its first
     * copy, which keeps the hole.
     */
    private Path[] sourceAndReplica() throws IOException {
        Path source = Images.createRandom(dir.resolve("vm.img"), 20 * MIB, 1);
        try (FileChannel ch = FileChannel.open(source, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[1234]).put(0, (byte) 7).put(1233, (byte) 9), LAST_BLOCK);
        }
        assertEquals(SIZE, Files.size(source));
        Path replica = dir.resolve("replica.img");
        Cli.Result first = Cli.sync(source, replica, state());
        assertEquals(0, first.exit(), first.err());
        return new Path[] {source, replica};
    }

    /** Flips the bits of one byte, as another program writing the replica would. */
    private static void flip(Path image, long offset) throws IOException {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) ~b.get(0)}), offset);
        }
    }

    private static List<long[]> ranges(JsonNode scrub) {
        List<long[]> ranges = new ArrayList<>();
        scrub.get("driftedRanges").forEach(r -> ranges.add(new long[] {r.get("offset").asLong(), r.get("length").asLong()}));
        return ranges;
    }

    @Test
    void cleanReplicaPassesWithoutReadingHoles() throws IOException {
        Path[] images = sourceAndReplica();
        String syncDigest = Cli.sync(images[0], images[1], state()).json().get("digest").asText();
        Cli.Result r = verify(images[1]);
        assertEquals(0, r.exit(), r.err());
        JsonNode json = r.json();
        assertEquals("clean", json.get("status").asText());
        JsonNode scrub = json.get("scrub");
        assertEquals("intact", scrub.get("record").asText());
        assertTrue(scrub.get("compared").asBoolean());
        assertEquals(0, scrub.get("blocksDrifted").asLong());
        assertEquals(SIZE, scrub.get("length").asLong());
        assertEquals(8193, scrub.get("blocksChecked").asLong());
        assertEquals(syncDigest, scrub.get("expectedDigest").asText());
        assertEquals(syncDigest, scrub.get("actualDigest").asText());
        assertTrue(scrub.get("bytesRead").asLong() <= 21 * MIB, "the hole was read: " + scrub);
        assertTrue(json.get("repair").isNull());
        assertTrue(Files.exists(SignatureCache.pathFor(images[1])), "a clean scrub must keep the record");

        Cli.Result human = Cli.run("verify", images[1].toString(), "-v");
        assertEquals(0, human.exit(), human.err());
        assertTrue(human.out().contains("Drift:           none") && human.out().contains("Status:          clean"),
                human.out());
        assertTrue(human.err().contains("scrubbing replica"), human.err());
    }

    @Test
    void flippedBytesAreNamedAndTheNextSyncRewritesExactlyThoseBlocks() throws IOException {
        Path[] images = sourceAndReplica();
        Path source = images[0];
        Path replica = images[1];
        String before = Images.sha256(replica);
        flip(replica, 5 * MIB + 100);          // a data block
        flip(replica, 12 * MIB + 4095);        // two adjacent blocks: one range
        flip(replica, 12 * MIB + 4096);
        flip(replica, 28 * MIB + 17);          // inside the hole: the replica gains an allocated block
        flip(replica, SIZE - 1);               // the short last block
        assertNotEquals(before, Images.sha256(replica));

        Cli.Result r = verify(replica);
        assertEquals(ExitStatus.VERIFY.code(), r.exit(), r.err());
        JsonNode json = r.json();
        assertEquals("drift", json.get("status").asText());
        JsonNode scrub = json.get("scrub");
        assertEquals("identity-changed", scrub.get("record").asText(), "another program wrote it: ctime moved");
        assertTrue(scrub.get("identityChanges").toString().contains("ctime"), scrub.toString());
        assertEquals(5, scrub.get("blocksDrifted").asLong());
        assertEquals(4 * 4096 + 1234, scrub.get("bytesDrifted").asLong());
        List<long[]> ranges = ranges(scrub);
        assertEquals(4, ranges.size(), scrub.toString());
        assertEquals(List.of(5 * MIB, 4096L), List.of(ranges.get(0)[0], ranges.get(0)[1]));
        assertEquals(List.of(12 * MIB, 8192L), List.of(ranges.get(1)[0], ranges.get(1)[1]));
        assertEquals(List.of(28 * MIB, 4096L), List.of(ranges.get(2)[0], ranges.get(2)[1]));
        assertEquals(List.of(LAST_BLOCK, 1234L), List.of(ranges.get(3)[0], ranges.get(3)[1]));
        assertNotEquals(scrub.get("expectedDigest").asText(), scrub.get("actualDigest").asText());
        assertTrue(r.err().contains("drifted") && r.err().contains("5 blocks"), r.err());
        assertFalse(Files.exists(SignatureCache.pathFor(replica)), "the record outlived the drift");

        // The next sync reads the replica and rewrites the five blocks, nothing else.
        Cli.Result sync = Cli.sync(source, replica, state());
        assertEquals(0, sync.exit(), sync.err());
        JsonNode stats = sync.json();
        assertEquals("read", stats.get("signatures").asText());
        assertEquals(4, stats.get("blocksChanged").asLong(), stats.toString());
        assertEquals(1, stats.get("blocksZero").asLong(), "the block in the hole is zero again: " + stats);
        assertEquals(3 * 4096 + 1234, stats.get("literalBytes").asLong(), stats.toString());
        assertEquals(Images.sha256(source), Images.sha256(replica));

        Cli.Result again = verify(replica);
        assertEquals(0, again.exit(), again.err());
        assertEquals("intact", again.json().get("scrub").get("record").asText());
    }

    @Test
    void contentIsComparedWhenOnlyTheIdentityChanged() throws Exception {
        Path[] images = sourceAndReplica();
        Images.run("touch", images[1].toString()); // mtime and ctime move, content does not
        Cli.Result r = verify(images[1]);
        assertEquals(0, r.exit(), r.err());
        JsonNode scrub = r.json().get("scrub");
        assertEquals("identity-changed", scrub.get("record").asText());
        assertEquals(0, scrub.get("blocksDrifted").asLong());
        assertEquals(scrub.get("expectedDigest"), scrub.get("actualDigest"));
    }

    @Test
    void againstRepairsToByteIdenticalRewritingOnlyTheDriftedAndChangedBlocks() throws IOException {
        Path[] images = sourceAndReplica();
        Path source = images[0];
        Path replica = images[1];
        flip(replica, 3 * MIB);
        flip(replica, 9 * MIB + 1);
        flip(replica, 25 * MIB);   // in the hole
        flip(replica, SIZE - 2);
        long changed = Images.overwriteBlocks(source, 2, 4096, 42); // the source moved on too

        Cli.Result r = verify(replica, "--against", source.toString(), "--state-dir", state().toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode json = r.json();
        assertEquals("repaired", json.get("status").asText());
        JsonNode scrub = json.get("scrub");
        assertEquals(4, scrub.get("blocksDrifted").asLong(), scrub.toString());
        assertEquals(List.of(3 * MIB, 4096L), List.of(ranges(scrub).get(0)[0], ranges(scrub).get(0)[1]));
        JsonNode repair = json.get("repair");
        assertEquals("scrub", repair.get("signatures").asText());
        assertTrue(repair.get("replicaBytesRead").asLong() > 0);
        assertEquals(scrub.get("bytesRead").asLong(), repair.get("replicaBytesRead").asLong(), "the replica was read twice");
        assertEquals(1, repair.get("blocksZero").asLong(), repair.toString());
        long changedBlocks = repair.get("blocksChanged").asLong();
        assertTrue(changedBlocks >= 3 && changedBlocks <= 5, repair.toString()); // the source's 2 may hit a drifted one
        assertTrue(repair.get("literalBytes").asLong() <= 2 * 4096 + 1234 + changed, repair.toString());
        assertEquals(Images.sha256(source), Images.sha256(replica));

        // The sync stored a fresh record: the replica now verifies clean without a source.
        Cli.Result after = verify(replica);
        assertEquals(0, after.exit(), after.err());
        assertEquals("intact", after.json().get("scrub").get("record").asText());
        assertEquals(repair.get("digest").asText(), after.json().get("scrub").get("actualDigest").asText());
    }

    @Test
    void againstWithNothingToRepairIsClean() throws IOException {
        Path[] images = sourceAndReplica();
        Cli.Result r = Cli.run("verify", images[1].toString(), "--against", images[0].toString(), "--state-dir",
                state().toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("Status:          clean") && r.out().contains("0 blocks rewritten"), r.out());
    }

    @Test
    void aRepairInAnotherBlockSizeRepairsWithoutComparing() throws IOException {
        Path[] images = sourceAndReplica();
        flip(images[1], 7 * MIB);
        Cli.Result r = verify(images[1], "--against", images[0].toString(), "-B", "64K", "--state-dir", state().toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode json = r.json();
        assertEquals("other-block-size", json.get("scrub").get("record").asText());
        assertFalse(json.get("scrub").get("compared").asBoolean());
        assertEquals(65536, json.get("repair").get("blockSize").asInt());
        assertEquals(1, json.get("repair").get("blocksChanged").asLong());
        assertEquals(Images.sha256(images[0]), Images.sha256(images[1]));
    }

    @Test
    void missingRecordIsSaidAndNothingIsRead() throws IOException {
        Path[] images = sourceAndReplica();
        Files.delete(SignatureCache.pathFor(images[1]));
        String before = Images.sha256(images[1]);
        Cli.Result r = verify(images[1]);
        assertEquals(ExitStatus.VERIFY.code(), r.exit(), r.err());
        JsonNode json = r.json();
        assertEquals("unverifiable", json.get("status").asText());
        assertEquals("missing", json.get("scrub").get("record").asText());
        assertFalse(json.get("scrub").get("compared").asBoolean());
        assertEquals(0, json.get("scrub").get("bytesRead").asLong());
        assertTrue(r.err().contains("no signature record") && r.err().contains("--against"), r.err());
        assertEquals(before, Images.sha256(images[1]));

        // With the source there is something to compare with; the sync writes a new record.
        Cli.Result against = verify(images[1], "--against", images[0].toString(), "--state-dir", state().toString());
        assertEquals(0, against.exit(), against.err());
        assertEquals("clean", against.json().get("status").asText());
        assertNull(against.json().get("scrub").get("expectedDigest").textValue());
        assertEquals(0, verify(images[1]).exit());
    }

    @Test
    void damagedRecordIsSaidNotTrusted() throws IOException {
        Path[] images = sourceAndReplica();
        Path record = SignatureCache.pathFor(images[1]);
        flip(record, 64 + 20 * 100 + 5); // one bit of block 100's strong hash: only the CRC can tell
        Cli.Result r = verify(images[1]);
        assertEquals(ExitStatus.VERIFY.code(), r.exit(), r.err());
        JsonNode scrub = r.json().get("scrub");
        assertEquals("damaged", scrub.get("record").asText());
        assertTrue(scrub.get("recordDetail").asText().contains("CRC"), scrub.toString());

        try (RandomAccessFile f = new RandomAccessFile(record.toFile(), "rw")) {
            f.setLength(100);
        }
        Cli.Result truncated = verify(images[1]);
        assertEquals(ExitStatus.VERIFY.code(), truncated.exit());
        assertEquals("damaged", truncated.json().get("scrub").get("record").asText());
        assertTrue(truncated.err().contains("damaged"), truncated.err());
    }

    @Test
    void grownOrShrunkReplicaDriftsAtItsEnd() throws IOException {
        Path[] images = sourceAndReplica();
        try (RandomAccessFile f = new RandomAccessFile(images[1].toFile(), "rw")) {
            f.setLength(SIZE - 1234 - 4096); // loses the short last block and one more
        }
        Cli.Result r = verify(images[1]);
        assertEquals(ExitStatus.VERIFY.code(), r.exit(), r.err());
        JsonNode scrub = r.json().get("scrub");
        assertTrue(scrub.get("identityChanges").toString().contains("size"), scrub.toString());
        assertEquals(2, scrub.get("blocksDrifted").asLong(), scrub.toString());
        assertEquals(List.of(LAST_BLOCK - 4096, 4096L + 1234), List.of(ranges(scrub).get(0)[0], ranges(scrub).get(0)[1]));
    }

    @Test
    void missingReplicaAndMisusedOptionsAreRefused() {
        Cli.Result r = Cli.run("verify", dir.resolve("nope.img").toString());
        assertEquals(ExitStatus.DESTINATION.code(), r.exit());
        assertTrue(r.err().contains("does not exist"), r.err());
        Cli.Result b = Cli.run("verify", dir.resolve("nope.img").toString(), "-B", "64K");
        assertEquals(ExitStatus.USAGE.code(), b.exit());
        Cli.Result help = Cli.run("verify", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("--against"), help.out());
        assertTrue(Cli.run("--help").out().contains("verify"));
    }
}
