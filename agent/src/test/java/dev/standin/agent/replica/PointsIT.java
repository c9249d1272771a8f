package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.failure.ExitStatus;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recovery points through the command line, on the test's own directory (undo points where the
 * filesystem cannot clone, as on ext4 and tmpfs): every kept point restores to the exact bytes
 * synced in its cycle, pruning keeps the newest, and damaged or changed data is reported.
 */
class PointsIT {

    private static final long KIB = 1 << 10;
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private Path source;
    private Path replica;
    private Path state;

    /** Cycle 1 is the first copy; later cycles change blocks, zero ranges, grow and shrink the image. */
    private Map<Long, String> cycles(int count, String... syncOptions) throws IOException {
        source = Images.create(dir.resolve("vm.img"), 4 * MIB, 1);
        replica = dir.resolve("replica.img");
        state = dir.resolve("state");
        Map<Long, String> contents = new HashMap<>();
        for (int cycle = 1; cycle <= count; cycle++) {
            if (cycle > 1) {
                change(source, cycle);
            }
            Cli.Result r = Cli.sync(source, replica, state, syncOptions);
            assertEquals(0, r.exit(), "cycle " + cycle + ": " + r.err());
            String sha = Images.sha256(source);
            assertEquals(sha, Images.sha256(replica), "cycle " + cycle);
            contents.put((long) cycle, sha);
        }
        return contents;
    }

    static void change(Path image, int cycle) throws IOException {
        SplittableRandom random = new SplittableRandom(cycle);
        Images.overwriteBlocks(image, 20, 4096, cycle);
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.WRITE)) {
            long size = ch.size();
            if (cycle % 3 == 0) { // zero blocks: ZERO records, holes punched on replay
                long at = random.nextLong(size / 4096 - 64) * 4096;
                ch.write(ByteBuffer.allocate((int) (256 * KIB)), at);
            }
            if (cycle % 5 == 0) { // grow by an odd amount: a short last block
                Images.writeRandom(ch, size, 300 * KIB + 123, random);
            }
            if (cycle % 7 == 0) { // shrink: the cut-off tail must come back
                ch.truncate(size * 3 / 4 + 77);
            }
        }
    }

    private JsonNode points(Path replicaPath) throws IOException {
        Cli.Result r = Cli.run("points", replicaPath.toString(), "--json", "--state-dir", state.toString());
        assertEquals(0, r.exit(), r.err());
        return r.json().get("points");
    }

    private Cli.Result restore(String spec, Path target, String... extra) {
        List<String> args = new ArrayList<>(List.of("restore", spec, target.toString(), "--state-dir", state.toString()));
        args.addAll(List.of(extra));
        return Cli.run(args.toArray(String[]::new));
    }

    @Test
    void thirtyCyclesKeepTheLastTwentyFourEachRestorableToItsBytes() throws Exception {
        Map<Long, String> contents = cycles(30);
        JsonNode points = points(replica);
        assertEquals(24, points.size());
        for (int i = 0; i < 24; i++) {
            JsonNode p = points.get(i);
            long id = p.get("id").asLong();
            assertEquals(7 + i, id);
            assertEquals("undo", p.get("kind").asText(), "ext4/tmpfs cannot clone");
            Path target = dir.resolve("restored-" + id + ".img");
            Cli.Result r = restore(replica + "@" + id, target);
            assertEquals(0, r.exit(), "point " + id + ": " + r.err());
            assertEquals(contents.get(id), Images.sha256(target), "point " + id);
            assertEquals(Files.size(target), p.get("length").asLong());
            Files.delete(target);
        }
        // The newest point is the replica itself: no data of its own.
        assertEquals(0, points.get(23).get("bytesUsed").asLong());
        assertTrue(points.get(0).get("bytesUsed").asLong() > 0);

        Path latest = dir.resolve("latest.img");
        assertEquals(0, restore(replica + "@latest", latest).exit());
        assertEquals(contents.get(30L), Images.sha256(latest));
        assertTrue(Images.allocated(latest) < Files.size(latest), "zero runs should stay holes");
        try (Stream<Path> files = Files.list(dir)) {
            assertFalse(files.anyMatch(f -> f.getFileName().toString().endsWith(".standin-restore")));
        }
    }

    @Test
    void pruningKeepsTheNewestPoints() throws Exception {
        Map<Long, String> contents = cycles(5, "--keep-points", "3");
        assertEquals(List.of(3L, 4L, 5L), ids(points(replica)));
        Path store = dir.resolve(".replica.img.standin-points");
        assertEquals(List.of("index", "undo-3", "undo-4"), list(store));

        change(source, 6);
        assertEquals(0, Cli.sync(source, replica, state, "--keep-points", "1").exit());
        assertEquals(List.of(6L), ids(points(replica)));
        assertEquals(List.of("index"), list(store), "the newest undo point is the replica");
        Path latest = dir.resolve("latest.img");
        assertEquals(0, restore(replica + "@6", latest).exit());
        assertEquals(Images.sha256(source), Images.sha256(latest));

        change(source, 7);
        assertEquals(0, Cli.sync(source, replica, state, "--keep-points", "0").exit());
        assertEquals(List.of(), ids(points(replica)));
        change(source, 8);
        assertEquals(0, Cli.sync(source, replica, state, "--keep-points", "0").exit());
        assertEquals(List.of(), ids(points(replica)));
        assertEquals(List.of("index"), list(store));

        // Points again: ids go on from where they were, never reused.
        change(source, 9);
        assertEquals(0, Cli.sync(source, replica, state).exit());
        change(source, 10);
        assertEquals(0, Cli.sync(source, replica, state).exit());
        assertEquals(List.of(9L, 10L), ids(points(replica)));
        assertEquals(contents.size(), 5);
    }

    @Test
    void restoreRefusesWhatItCannotDoCleanly() throws Exception {
        Map<Long, String> contents = cycles(3);
        Path existing = Files.writeString(dir.resolve("existing.img"), "keep me");
        Cli.Result refused = restore(replica + "@2", existing);
        assertEquals(ExitStatus.USAGE.code(), refused.exit());
        assertTrue(refused.err().contains("--force"), refused.err());
        assertEquals("keep me", Files.readString(existing));

        Cli.Result forced = restore(replica + "@2", existing, "--force");
        assertEquals(0, forced.exit(), forced.err());
        assertEquals(contents.get(2L), Images.sha256(existing));

        for (String bad : List.of(replica.toString(), replica + "@", replica + "@two", replica + "@-1", "@2",
                replica + "@99")) {
            Cli.Result r = restore(bad, dir.resolve("out.img"));
            assertEquals(ExitStatus.USAGE.code(), r.exit(), bad + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("standin: "), r.err());
            assertFalse(Files.exists(dir.resolve("out.img")));
        }
        assertTrue(restore(replica + "@99", dir.resolve("out.img")).err().contains("1 to 3"));
        // A missing replica is the same status for every command that reads one (verify: VerifyIT).
        Cli.Result noReplica = Cli.run("points", dir.resolve("nothing.img").toString());
        assertEquals(ExitStatus.DESTINATION.code(), noReplica.exit(), noReplica.err());
        Cli.Result noReplicaToRestore = restore(dir.resolve("nothing.img") + "@1", dir.resolve("out.img"));
        assertEquals(ExitStatus.DESTINATION.code(), noReplicaToRestore.exit(), noReplicaToRestore.err());
        assertFalse(Files.exists(dir.resolve("out.img")));
        Path directory = Files.createDirectory(dir.resolve("a-directory"));
        Cli.Result notAFile = restore(replica + "@1", directory, "--force");
        assertEquals(ExitStatus.USAGE.code(), notAFile.exit(), notAFile.err());
        assertTrue(Files.isDirectory(directory));
        Cli.Result self = restore(replica + "@1", replica, "--force");
        assertEquals(ExitStatus.USAGE.code(), self.exit(), self.err());
        assertEquals(contents.get(3L), Images.sha256(replica));
    }

    @Test
    void pointsShowsHumanSizesAndNamesTheDigestAndJsonKeepsExactOnes() throws Exception {
        cycles(2);
        Cli.Result text = Cli.run("points", replica.toString(), "--state-dir", state.toString());
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("IMAGE DIGEST (standin-image-digest-v3, not the image's SHA-256)"), text.out());
        String lastRow = text.out().strip().lines().reduce((a, b) -> b).orElseThrow();
        assertTrue(lastRow.contains(" 4.00 MiB "), lastRow); // the image is 4 MiB; used 0 B: it is the replica
        assertFalse(lastRow.contains(Long.toString(4 * MIB)), lastRow);
        JsonNode json = Cli.run("points", replica.toString(), "--json", "--state-dir", state.toString()).json();
        assertEquals(4 * MIB, json.get("points").get(1).get("length").asLong());
        assertEquals("standin-image-digest-v3", json.get("digestAlgorithm").asText());
        Cli.Result stats = Cli.run("sync", source.toString(), replica.toString(), "--stats", "--state-dir",
                state.toString());
        assertTrue(stats.out().contains("Image digest:") && !stats.out().contains("sha256"), stats.out());
        assertEquals("standin-image-digest-v3", Cli.sync(source, replica, state).json().get("digestAlgorithm").asText());
    }

    @Test
    void aTruncatedReplicaIsRepairedFromItsSourceAndVerifySyncNAndSyncAgreeOnThePointsItTakes() throws Exception {
        cycles(3);
        String sourceNow = Images.sha256(source);
        try (RandomAccessFile f = new RandomAccessFile(replica.toFile(), "rw")) {
            f.setLength(Files.size(replica) / 3); // damaged outside standin
        }
        Cli.Result verify = Cli.run("verify", replica.toString(), "--state-dir", state.toString());
        assertEquals(ExitStatus.VERIFY.code(), verify.exit(), verify.err());
        assertTrue(verify.err().contains("'standin verify --against SOURCE' rewrites them and drops recovery points "
                + "1, 2 and 3"), verify.err());

        Cli.Result dry = Cli.sync(source, replica, state, "-n");
        assertEquals(0, dry.exit(), dry.err());
        assertEquals("[1,2,3]", dry.json().get("pointsDropped").toString());
        assertTrue(dry.err().contains("a sync would drop points 1, 2 and 3"), dry.err());
        assertEquals(List.of(1L, 2L, 3L), ids(points(replica)), "a dry run drops nothing");

        Cli.Result repaired = Cli.sync(source, replica, state);
        assertEquals(0, repaired.exit(), repaired.err());
        assertEquals("[1,2,3]", repaired.json().get("pointsDropped").toString());
        assertTrue(repaired.err().contains("dropped points 1, 2 and 3, which depended on it"), repaired.err());
        assertEquals(sourceNow, Images.sha256(replica));
        assertEquals(List.of(4L), ids(points(replica)), "ids are not reused");
        Path restored = dir.resolve("restored.img");
        assertEquals(0, restore(replica + "@4", restored).exit());
        assertEquals(sourceNow, Images.sha256(restored));

        change(source, 5);
        Cli.Result next = Cli.sync(source, replica, state);
        assertEquals(0, next.exit(), next.err());
        assertEquals("[]", next.json().get("pointsDropped").toString());
        assertEquals(List.of(4L, 5L), ids(points(replica)));
        Files.delete(restored);
        assertEquals(0, restore(replica + "@4", restored).exit());
        assertEquals(sourceNow, Images.sha256(restored), "the repair's point restores after the next cycle");
    }

    @Test
    void aReplicaOverwrittenInPlaceIsRepairedByVerifyAgainstItsSource() throws Exception {
        cycles(2);
        try (FileChannel ch = FileChannel.open(replica, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("booted".getBytes()), 8192); // a replica started by hand
        }
        Cli.Result repair = Cli.run("verify", replica.toString(), "--against", source.toString(), "--json",
                "--state-dir", state.toString());
        assertEquals(0, repair.exit(), repair.err());
        assertEquals("[1,2]", repair.json().get("repair").get("pointsDropped").toString());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertEquals(List.of(3L), ids(points(replica)));
    }

    @Test
    void damagedUndoDataIsDetectedAndNothingIsWritten() throws Exception {
        Map<Long, String> contents = cycles(4);
        Path undo = dir.resolve(".replica.img.standin-points").resolve("undo-2");
        long middle = Files.size(undo) / 2;
        try (RandomAccessFile f = new RandomAccessFile(undo.toFile(), "rw")) {
            f.seek(middle);
            int b = f.read();
            f.seek(middle);
            f.write(b ^ 0x10);
        }
        Path target = dir.resolve("out.img");
        for (String point : List.of("1", "2")) { // both need undo-2
            Cli.Result r = restore(replica + "@" + point, target);
            assertEquals(ExitStatus.VERIFY.code(), r.exit(), r.err());
            assertTrue(r.err().contains("undo-2") && r.err().contains("CRC32C"), r.err());
            assertFalse(Files.exists(target));
        }
        assertEquals(0, restore(replica + "@3", target).exit(), "point 3 does not need undo-2");
        assertEquals(contents.get(3L), Images.sha256(target));
    }

    @Test
    void aReplicaChangedOutsideStandinFailsVerification() throws Exception {
        cycles(3);
        try (FileChannel ch = FileChannel.open(replica, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("booted".getBytes()), 8192); // as if the replica had been started
        }
        Path target = dir.resolve("out.img");
        Cli.Result r = restore(replica + "@2", target);
        assertEquals(ExitStatus.VERIFY.code(), r.exit(), r.err());
        assertTrue(r.err().contains("recorded as"), r.err());
        assertFalse(Files.exists(target));
    }

    @Test
    void aDamagedIndexIsReportedNotRepaired() throws Exception {
        cycles(2);
        Path index = dir.resolve(".replica.img.standin-points").resolve("index");
        byte[] bytes = Files.readAllBytes(index);
        bytes[30] ^= 1;
        Files.write(index, bytes);
        Cli.Result r = Cli.run("points", replica.toString(), "--state-dir", state.toString());
        assertEquals(ExitStatus.VERIFY.code(), r.exit(), r.err());
        assertTrue(r.err().contains("CRC32C"), r.err());
        Cli.Result sync = Cli.sync(source, replica, state);
        assertTrue(sync.exit() != 0, "a cycle must not go on over a damaged index");
        assertTrue(Arrays.equals(bytes, Files.readAllBytes(index)), "left as it was for the operator");
    }

    @Test
    void filesOfAnotherVersionAreRefusedAndLeftInPlace() throws Exception {
        Map<Long, String> contents = cycles(3);
        Path store = dir.resolve(".replica.img.standin-points");
        Path undo = store.resolve("undo-1");
        byte[] undoBytes = Files.readAllBytes(undo);
        undoBytes[6] = '2'; // STUNDO2: a layout from a later standin
        Files.write(undo, undoBytes);
        Cli.Result r = restore(replica + "@1", dir.resolve("out.img"));
        assertEquals(ExitStatus.PROTOCOL.code(), r.exit(), r.err());
        assertTrue(r.err().contains("STUNDO2"), r.err());
        assertEquals(0, restore(replica + "@2", dir.resolve("out.img")).exit(), "point 2 does not need undo-1");
        assertEquals(contents.get(2L), Images.sha256(dir.resolve("out.img")));

        Path index = store.resolve("index");
        byte[] indexBytes = Files.readAllBytes(index);
        indexBytes[6] = (byte) ('0' + PointIndex.VERSION + 1); // a layout from a later standin
        Files.write(index, indexBytes);
        Cli.Result listed = Cli.run("points", replica.toString(), "--state-dir", state.toString());
        assertEquals(ExitStatus.PROTOCOL.code(), listed.exit(), listed.err());
        assertTrue(Arrays.equals(indexBytes, Files.readAllBytes(index)));
        assertTrue(Arrays.equals(undoBytes, Files.readAllBytes(undo)));
    }

    private static List<Long> ids(JsonNode points) {
        List<Long> ids = new ArrayList<>();
        points.forEach(p -> ids.add(p.get("id").asLong()));
        return ids;
    }

    private static List<String> list(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }
}
