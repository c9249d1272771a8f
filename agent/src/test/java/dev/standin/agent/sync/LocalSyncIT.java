package dev.standin.agent.sync;

import dev.standin.agent.engine.CycleRequest;
import dev.standin.agent.engine.Replication;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.failure.StandinException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code standin sync} between real files on the test machine's filesystem: first copies stay
 * sparse, incremental cycles send only what changed, the signature cache spares the replica read
 * and is refused once the replica is touched, and every result is byte-identical to the source.
 */
class LocalSyncIT {

    private static final long MIB = 1 << 20;
    private static final int MIB_INT = 1 << 20;

    @TempDir
    Path dir;

    private Path state() {
        return dir.resolve("state");
    }

    /**
     * A source cut short while it is being scanned (it is read through mappings, where the lost
     * pages fault): the cycle fails in one line and the replica keeps its previous content.
     */
    /** Links an administrator made on the way to a replica (its directory, the state directory) are theirs to make. */
    @Test
    void directoriesReachedThroughLinksAreFollowed() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 4 * MIB, 41);
        Path real = Files.createDirectories(dir.resolve("data/replicas"));
        Path linked = Files.createSymbolicLink(dir.resolve("replicas"), real);
        Path state = Files.createSymbolicLink(dir.resolve("state"), Files.createDirectories(dir.resolve("data/state")));
        for (int cycle = 0; cycle < 2; cycle++) {
            Images.overwriteBlocks(source, 4, 4096, cycle);
            Cli.Result r = Cli.sync(source, linked.resolve("r.img"), state);
            assertEquals(0, r.exit(), r.err());
            assertEquals(Images.sha256(source), Images.sha256(real.resolve("r.img")));
        }
        assertTrue(Files.isDirectory(real.resolve(".r.img.standin-points")));
    }

    /**
     * --bwlimit on a local sync limits what the cycle reads (it was silently ignored: 179 MiB/s
     * with --bwlimit 1M). A lower bound only: a limiter may be slower, never faster.
     */
    @Test
    void bwlimitLimitsALocalCyclesReads() throws Exception {
        Path source = Images.createRandom(dir.resolve("vm.img"), 16 * MIB, 31);
        Path replica = dir.resolve("replica.img");
        Cli.Result first = Cli.sync(source, replica, dir.resolve("state"), "--bwlimit", "8M");
        assertEquals(0, first.exit(), first.err());
        JsonNode stats = first.json();
        assertEquals(16 * MIB, stats.get("bytesRead").asLong());
        // 16 MiB at 8 MiB/s, less the one burst (0.8 MiB) that may pass at once: at least 1.9 s.
        assertTrue(stats.get("seconds").asDouble() >= 1.9, stats.toString());
        assertEquals(Images.sha256(source), Images.sha256(replica));

        Images.overwriteBlocks(source, 8, 4096, 32);
        Cli.Result next = Cli.sync(source, replica, dir.resolve("state"), "--bwlimit", "16M", "--dry-run");
        assertEquals(0, next.exit(), next.err());
        assertTrue(next.json().get("seconds").asDouble() >= (16 - 1.6) / 16.0, next.out());
    }

    @Test
    void aSourceThatShrinksDuringTheScanCommitsNothing() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 48 * MIB, 21);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, Cli.sync(source, replica, state()).exit());
        String before = Images.sha256(replica);
        Images.overwriteBlocks(source, 50, 4096, 22);
        SyncOptions options = SyncOptions.builder(source, replica).stateDirectory(state()).build();
        Progress cutting = new Progress() {
            private boolean cut;

            @Override
            public void phase(String name, long total) {}

            @Override
            public void done(long bytes) {
                if (!cut && bytes >= 8 * MIB) {
                    cut = true;
                    try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
                        f.setLength(16 * MIB);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            }
        };
        StandinException e = assertThrows(StandinException.class, () -> new Replication(cutting, line -> { }, Optional.empty())
                .run(CycleRequest.local(List.of(new CycleRequest.Disk(options, Optional.empty())))).disks().get(0).orThrow());
        assertTrue(e.getMessage().contains("changed size during the cycle") || e.getMessage().contains("shrink"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertEquals(before, Images.sha256(replica), "the replica stays at its previous point");
    }

    @Test
    void firstCopyIsIdenticalSparseAndSkipsHoles() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 96 * MIB, 1);
        // A large hole at the end, as a freshly provisioned disk has.
        try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
            f.setLength(512 * MIB);
        }
        Path replica = dir.resolve("replica.img");
        Cli.Result r = Cli.sync(source, replica, state());
        assertEquals(0, r.exit(), r.err());
        JsonNode json = r.json();
        assertTrue(json.get("firstCopy").asBoolean());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertTrue(json.get("sourceBytesRead").asLong() <= Images.allocated(source), "holes were read: " + json);
        assertTrue(Images.allocated(replica) <= Images.allocated(source) + 4 * MIB,
                "replica allocates " + Images.allocated(replica) + ", source " + Images.allocated(source));
        assertEquals(0, json.get("literalBytes").asLong() % 4096);
        assertFalse(Files.exists(dir.resolve(".replica.img.standin-partial")));
    }

    @Test
    void incrementalSendsOnlyChangedBlocksAndThenSkipsTheReplicaRead() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 64 * MIB, 2);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, Cli.sync(source, replica, state()).exit());

        long changed = Images.overwriteBlocks(source, 100, 4096, 3);
        Cli.Result second = Cli.sync(source, replica, state());
        assertEquals(0, second.exit(), second.err());
        JsonNode json = second.json();
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertEquals("cache", json.get("signatures").asText(), "the first copy's signatures were not reused");
        assertEquals(0, json.get("replicaBytesRead").asLong());
        assertTrue(json.get("literalBytes").asLong() <= changed, json.toString());
        assertTrue(json.get("wireBytes").asLong() <= changed * 1.05, json.toString());

        // Nothing changed: nothing sent.
        JsonNode third = Cli.sync(source, replica, state()).json();
        assertEquals(0, third.get("literalBytes").asLong());
        assertEquals(third.get("blocks").asLong(), third.get("blocksSame").asLong());
    }

    @Test
    void touchingTheReplicaInvalidatesTheCache() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 32 * MIB, 4);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, Cli.sync(source, replica, state()).exit());
        // Someone booted the replica and its guest wrote a block.
        Images.overwriteBlocks(replica, 1, 4096, 5);
        Cli.Result r = Cli.sync(source, replica, state());
        assertEquals(0, r.exit(), r.err());
        assertEquals("read", r.json().get("signatures").asText());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertEquals(4096, r.json().get("literalBytes").asLong());
    }

    /**
     * A replica copied by hand (no signatures): the source is hashed while the replica is read, and
     * only the segments that differ are read again and matched, the moved block found as a copy.
     */
    @Test
    void aSeedingCycleReadsSourceAndReplicaOnceAndMatchesOnlyWhatDiffers() throws IOException {
        Path source = dir.resolve("vm.img");
        byte[] data = new byte[16 * MIB_INT];
        new java.util.SplittableRandom(21).nextBytes(data); // no holes or zero blocks: every block can move
        java.nio.file.Files.write(source, data);
        Path replica = dir.resolve("replica.img");
        java.nio.file.Files.copy(source, replica);
        try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
            byte[] block = new byte[4096];
            f.seek(MIB);
            f.readFully(block);
            f.seek(9 * MIB); // the replica's block at 1 MiB, now also at 9 MiB
            f.write(block);
        }
        long changed = Images.overwriteBlocks(source, 1, 4096, 22);
        Cli.Result r = Cli.sync(source, replica, state());
        assertEquals(0, r.exit(), r.err());
        JsonNode json = r.json();
        assertEquals("read", json.get("signatures").asText());
        assertEquals(1, json.get("blocksMoved").asLong(), json.toString());
        assertEquals(changed, json.get("literalBytes").asLong(), json.toString());
        long allocated = Images.allocated(source);
        long read = json.get("sourceBytesRead").asLong();
        assertTrue(read > allocated && read <= allocated + 2 * 256 * 1024,
                "the source hashed whole, then at most the two differing segments again: " + json);
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    @Test
    void sourceThatGrowsOrShrinksIsFollowed() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 40 * MIB, 6);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, Cli.sync(source, replica, state()).exit());
        try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
            f.setLength(48 * MIB + 123);
            f.seek(47 * MIB);
            f.write("grown".getBytes());
        }
        assertEquals(0, Cli.sync(source, replica, state()).exit());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        try (RandomAccessFile f = new RandomAccessFile(source.toFile(), "rw")) {
            f.setLength(20 * MIB + 7);
        }
        Cli.Result r = Cli.sync(source, replica, state());
        assertEquals(0, r.exit(), r.err());
        assertEquals(Files.size(source), Files.size(replica));
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "lz4", "zstd"})
    void everyCodecGivesTheSameReplicaAndCompressionShrinksTheWire(String codec) throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 24 * MIB, 7);
        Path replica = dir.resolve("replica.img");
        Cli.Result r = Cli.sync(source, replica, state(), "--compress", codec);
        assertEquals(0, r.exit(), r.err());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        JsonNode json = r.json();
        if (!codec.equals("none")) {
            assertTrue(json.get("wireBytes").asLong() < json.get("literalBytes").asLong(), json.toString());
        }
    }

    @Test
    void contentShiftedBySectorsIsCopiedAndByBytesOnlyWithTheByteSearch() throws IOException {
        Path source = Images.createRandom(dir.resolve("vm.img"), 8 * MIB, 16);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, Cli.sync(source, replica, state()).exit());
        byte[] image = Files.readAllBytes(source);
        // 1 MiB moved forward by three sectors, and the next 1 MiB moved forward by 5 bytes.
        System.arraycopy(image.clone(), MIB_INT, image, MIB_INT + 1536, MIB_INT);
        System.arraycopy(image.clone(), 3 * MIB_INT, image, 3 * MIB_INT + 5, MIB_INT);
        Files.write(source, image);
        Path copy = dir.resolve("copy.img");
        Files.copy(replica, copy);

        Cli.Result sector = Cli.sync(source, replica, state(), "--dry-run");
        Cli.Result bytes = Cli.sync(source, replica, state(), "--dry-run", "--move-search", "byte");
        Cli.Result none = Cli.sync(source, replica, state(), "--dry-run", "--move-search", "none");
        long sectorLiteral = sector.json().get("literalBytes").asLong();
        long byteLiteral = bytes.json().get("literalBytes").asLong();
        long noneLiteral = none.json().get("literalBytes").asLong();
        assertTrue(noneLiteral >= 2 * MIB, "no search sends both moved ranges: " + noneLiteral);
        // Found, but for a block of literal where the moved range crosses a 256 KiB segment boundary.
        assertTrue(sectorLiteral < noneLiteral - MIB + 16 * 4096, "the sector move is found: " + sectorLiteral);
        assertTrue(sectorLiteral > MIB, "the 5-byte shift is not a sector move: " + sectorLiteral);
        assertTrue(byteLiteral < 16 * 4096, "the byte search finds both: " + byteLiteral);

        Cli.Result applied = Cli.sync(source, copy, state(), "--move-search", "byte");
        assertEquals(0, applied.exit(), applied.err());
        assertEquals(Images.sha256(source), Images.sha256(copy));
    }

    @Test
    void dryRunReportsButWritesNothing() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 16 * MIB, 8);
        Path replica = dir.resolve("replica.img");
        Cli.Result first = Cli.sync(source, replica, state(), "-n");
        assertEquals(0, first.exit(), first.err());
        assertFalse(Files.exists(replica));
        assertTrue(first.json().get("literalBytes").asLong() > 0);

        assertEquals(0, Cli.sync(source, replica, state()).exit());
        String before = Images.sha256(replica);
        Images.overwriteBlocks(source, 10, 4096, 9);
        Cli.Result dry = Cli.sync(source, replica, state(), "--dry-run");
        assertEquals(0, dry.exit(), dry.err());
        assertEquals(before, Images.sha256(replica));
        assertEquals(40960, dry.json().get("literalBytes").asLong());
    }

    @Test
    void blockSizeOptionIsHonoured() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 16 * MIB, 10);
        Path replica = dir.resolve("replica.img");
        Cli.Result r = Cli.sync(source, replica, state(), "-B", "64K");
        assertEquals(0, r.exit(), r.err());
        assertEquals(65536, r.json().get("blockSize").asInt());
        Images.overwriteBlocks(source, 3, 4096, 11);
        Cli.Result second = Cli.sync(source, replica, state(), "--block-size", "65536");
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertEquals("cache", second.json().get("signatures").asText());
        assertTrue(second.json().get("literalBytes").asLong() <= 3 * 65536);
    }

    @Test
    void zeroedRangesBecomeHolesInTheReplica() throws IOException {
        Path source = Images.createRandom(dir.resolve("vm.img"), 32 * MIB, 13);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, Cli.sync(source, replica, state()).exit());
        long before = Images.allocated(replica);
        try (var ch = java.nio.channels.FileChannel.open(source, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate((int) (8 * MIB)), 4 * MIB); // the guest discarded 8 MiB
        }
        Cli.Result r = Cli.sync(source, replica, state());
        assertEquals(0, r.exit(), r.err());
        assertEquals(2048, r.json().get("blocksZero").asLong());
        assertEquals(0, r.json().get("literalBytes").asLong());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertTrue(Images.allocated(replica) <= before - 8 * MIB, "zero blocks were written, not punched");
    }

    @Test
    void aSecondRunOnTheSameDestinationIsRefusedWhileTheFirstHoldsIt() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), 8 * MIB, 14);
        Path replica = dir.resolve("replica.img");
        assertEquals(0, Cli.sync(source, replica, state()).exit());
        try (var channel = java.nio.channels.FileChannel.open(dir.resolve(".replica.img.standin-lock"),
                java.nio.file.StandardOpenOption.WRITE);
                var held = channel.lock()) {
            Cli.Result r = Cli.sync(source, replica, state());
            assertEquals(dev.standin.failure.ExitStatus.DESTINATION.code(), r.exit());
            assertTrue(r.err().contains("already"), r.err());
        }
        assertEquals(0, Cli.sync(source, replica, state()).exit());
    }

    @Test
    void readingTheSourceLeavesItOutOfThePageCache() throws Exception {
        Path source = Images.createRandom(dir.resolve("vm.img"), 64 * MIB, 15);
        Images.run("dd", "if=" + source, "iflag=nocache", "count=0", "status=none");
        assertEquals(0, Cli.sync(source, dir.resolve("replica.img"), state()).exit());
        long cached = Long.parseLong(Images.run("fincore", "--bytes", "--noheadings", "--output", "RES", source.toString()).strip());
        assertTrue(cached < 4 * MIB, cached + " bytes of the source are still cached");
        assertEquals(0, Cli.sync(source, dir.resolve("kept.img"), state(), "--no-drop-cache").exit());
        cached = Long.parseLong(Images.run("fincore", "--bytes", "--noheadings", "--output", "RES", source.toString()).strip());
        assertTrue(cached > 60 * MIB, "--no-drop-cache dropped the cache anyway (" + cached + " bytes cached)");
    }

    /**
     * What was cached before the scan stays cached (a guest's data, in the host's page cache when
     * QEMU runs with cache=writeback); only what the scan brought in is dropped.
     */
    @Test
    void readingTheSourceLeavesWhatWasCachedBeforeInThePageCache() throws Exception {
        Path source = Images.createRandom(dir.resolve("vm.img"), 192 * MIB, 16);
        Images.run("sync");
        Images.run("dd", "if=" + source, "iflag=nocache", "count=0", "status=none");
        // Someone else reads 40 MiB that straddle a 64 MiB region boundary.
        Images.run("dd", "if=" + source, "of=/dev/null", "bs=1M", "skip=50", "count=40", "status=none");
        assertTrue(cachedBytes(source) >= 40 * MIB, "dd's reads are cached");
        assertEquals(0, Cli.sync(source, dir.resolve("replica.img"), state()).exit());
        long after = cachedBytes(source);
        // The scan read all 192 MiB: the 40 MiB (and dd's readahead) stay, what it brought in is gone.
        assertTrue(after >= 40 * MIB && after < 64 * MIB, after + " bytes cached after the sync");
    }

    private static long cachedBytes(Path file) throws Exception {
        return Long.parseLong(Images.run("fincore", "--bytes", "--noheadings", "--output", "RES", file.toString()).strip());
    }

    @Test
    void statsAreReadable() throws IOException {
        Path source = Images.create(dir.resolve("vm.img"), 8 * MIB, 12);
        Cli.Result r = Cli.run("sync", source.toString(), dir.resolve("r.img").toString(), "--stats");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("Blocks:") && r.out().contains("Literal data:") && r.out().contains("Image digest:"), r.out());
    }
}
