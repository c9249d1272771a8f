package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import dev.standin.agent.image.DiskImage;
import dev.standin.delta.MoveSearch;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link Destination} contract, run against every implementation (LocalDestinationContractIT,
 * SshDestinationContractIT): what a cycle commits, what a failure before the commit leaves, the
 * lock, the dry run, and close.
 */
public abstract class DestinationContract {

    private static final long SIZE = 8 << 20;

    @TempDir
    protected Path dir;

    /** A destination for the replica at {@code replica}, whose state (caches) lives in {@code state}. */
    protected abstract Destination destination(Path replica, Path state) throws Exception;

    private Path state() {
        return dir.resolve("state");
    }

    private SyncOptions options(Path source, Path replica, boolean dryRun) {
        return SyncOptions.builder(source, replica).stateDirectory(state()).dryRun(dryRun).build();
    }

    private SyncStats cycle(Path source, Path replica, boolean dryRun) throws Exception {
        SyncOptions options = options(source, replica, dryRun);
        try (Destination destination = destination(replica, state())) {
            return new Cycle(options, Reading.of(options), Progress.NONE).run(destination, null);
        }
    }

    @Test
    void aCommitMakesTheReplicaTheSourceImage() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), SIZE, 1);
        Path replica = dir.resolve("replica.img");
        SyncStats first = cycle(source, replica, false);
        assertTrue(first.firstCopy());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        long changed = Images.overwriteBlocks(source, 12, 4096, 2);
        SyncStats second = cycle(source, replica, false);
        assertFalse(second.firstCopy());
        assertEquals(changed / 4096, second.blocksChanged(), second.toString());
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertNotEquals(first.digest(), second.digest());
    }

    @Test
    void aDryRunWritesNothing() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), SIZE, 3);
        Path replica = dir.resolve("replica.img");
        cycle(source, replica, false);
        String before = Images.sha256(replica);
        long changed = Images.overwriteBlocks(source, 8, 4096, 4);
        SyncStats dry = cycle(source, replica, true);
        assertTrue(dry.dryRun());
        assertEquals(changed / 4096, dry.blocksChanged());
        assertEquals(before, Images.sha256(replica));
        assertEquals(changed / 4096, cycle(source, replica, false).blocksChanged(),
                "the dry run left its basis as it was");
    }

    /** A dry run where there is no replica yet reports a first copy and creates nothing. */
    @Test
    void aDryRunOfAFirstCopyCreatesNoReplica() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), SIZE, 11);
        Path replica = dir.resolve("replica.img");
        SyncStats dry = cycle(source, replica, true);
        assertTrue(dry.dryRun() && dry.firstCopy(), dry.toString());
        try (var left = java.nio.file.Files.list(dir)) {
            assertEquals(List.of(), left.map(p -> p.getFileName().toString())
                    .filter(name -> name.contains("replica.img") && !name.endsWith(".standin-lock")).toList(),
                    "no replica, staging file or resume log");
        }
        SyncStats real = cycle(source, replica, false);
        assertTrue(real.firstCopy());
        assertEquals(dry.digest(), real.digest(), "the dry run read the source the real one did");
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    /** A cycle that fails half-way through its stream: the replica reads as before, and the next cycle commits. */
    @Test
    void aFailureBeforeTheCommitLeavesThePreviousPoint() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), SIZE, 5);
        Path replica = dir.resolve("replica.img");
        cycle(source, replica, false);
        String before = Images.sha256(replica);
        Images.overwriteBlocks(source, 200, 4096, 6);
        long toSend = cycle(source, replica, true).blocksChanged(); // some of the 200 land on one block

        try (Destination destination = destination(replica, state());
                DiskImage image = DiskImage.open(source, false, false, Optional.empty())) {
            Destination.Replica opened = destination.open(new Destination.Opening(SIZE, SIZE, 0, false, 3,
                    Compression.NONE));
            Destination.Basis basis = destination.basis();
            DeltaHeader header = new DeltaHeader(opened.blockSize(), SIZE, basis.signatures().length(),
                    basis.headerDigest());
            ByteArrayOutputStream whole = new ByteArrayOutputStream();
            SourceSender.send(new SegmentPipeline(256 << 10, 1, false, Optional.empty()), image, basis.signatures(),
                    header, whole, opened.codec(), MoveSearch.NONE, null, false, Progress.NONE);
            Destination.Delivery delivery = destination.deliver(header);
            delivery.stream().write(whole.toByteArray(), 0, whole.size() / 2);
            delivery.stream().flush();
            StandinException failure = delivery.failed(new IOException("cut by the test"));
            assertTrue(failure.getMessage().contains("cut by the test"), failure.getMessage());
        }
        assertEquals(before, Images.sha256(replica), "nothing of the failed cycle is visible");
        SyncStats next = cycle(source, replica, false);
        assertEquals(Images.sha256(source), Images.sha256(replica));
        assertEquals(toSend, next.blocksChanged(), "the failed cycle's blocks are still to send: " + next);
    }

    /** A replica a failed-over VM runs on is refused at open, transiently, and left as it was. */
    @Test
    void aReplicaInUseByAFailoverIsRefusedAndLeftAsItWas() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), SIZE, 9);
        Path replica = dir.resolve("replica.img");
        cycle(source, replica, false);
        String before = Images.sha256(replica);
        Images.overwriteBlocks(source, 8, 4096, 10);
        dev.standin.agent.replica.InUse.mark(replica, "the failover of VM web (point 1)");
        StandinException refused = org.junit.jupiter.api.Assertions.assertThrows(StandinException.class,
                () -> cycle(source, replica, false));
        assertTrue(refused.getMessage().contains("in use by the failover of VM web (point 1)"), refused.getMessage());
        assertFalse(refused.isPermanent(), "retried until the failover is cleaned up");
        assertEquals(before, Images.sha256(replica));
        dev.standin.agent.replica.InUse.clear(replica);
        cycle(source, replica, false);
        assertEquals(Images.sha256(source), Images.sha256(replica));
    }

    /**
     * Two cycles on one replica never interleave: the second's open fails (in one process) or
     * returns once the first has closed (another process waits for the lock).
     */
    @Test
    void openLocksTheReplicaUntilClose() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), SIZE, 7);
        Path replica = dir.resolve("replica.img");
        cycle(source, replica, false);
        AtomicBoolean firstClosed = new AtomicBoolean();
        Destination first = destination(replica, state());
        first.open(new Destination.Opening(SIZE, SIZE, 0, false, 3, Compression.NONE));
        CompletableFuture<String> second = CompletableFuture.supplyAsync(() -> {
            try (Destination d = destination(replica, state())) {
                d.open(new Destination.Opening(SIZE, SIZE, 0, false, 3, Compression.NONE));
                return firstClosed.get() ? "opened after the first closed" : "opened while the first was open";
            } catch (StandinException e) {
                return e.status() == ExitStatus.DESTINATION && e.getMessage().contains("already writing")
                        ? "refused: " + e.getMessage() : "failed otherwise: " + e.getMessage();
            } catch (Exception e) {
                return "failed otherwise: " + e;
            }
        });
        Thread.sleep(500);
        firstClosed.set(true);
        first.close();
        String outcome = second.get(30, TimeUnit.SECONDS);
        assertTrue(outcome.equals("opened after the first closed") || outcome.startsWith("refused: "), outcome);
    }

    @Test
    void closeIsIdempotentAndChangesNothing() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), SIZE, 9);
        Path replica = dir.resolve("replica.img");
        cycle(source, replica, false);
        String before = Images.sha256(replica);
        Destination destination = destination(replica, state());
        destination.open(new Destination.Opening(SIZE, SIZE, 0, false, 3, Compression.NONE));
        destination.basis();
        destination.close();
        destination.close();
        assertEquals(before, Images.sha256(replica));
    }

    /** A failure names its side in words and says by its status whether a retry can help. */
    @Test
    void aMissingSourceIsAPermanentSourceFailure() throws Exception {
        Path replica = dir.resolve("replica.img");
        Path missing = dir.resolve("no-such.img");
        StandinException e = org.junit.jupiter.api.Assertions.assertThrows(StandinException.class,
                () -> cycle(missing, replica, false));
        assertEquals(ExitStatus.SOURCE, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains("No such file"), e.getMessage());
        assertFalse(Files.exists(replica));
    }

    @Test
    void theReplicasDigestIsTheSourcesAfterEveryCommit() throws Exception {
        Path source = Images.create(dir.resolve("vm.img"), SIZE, 11);
        Path replica = dir.resolve("replica.img");
        SyncStats stats = cycle(source, replica, false);
        SyncOptions options = options(replica, dir.resolve("other.img"), true);
        try (Destination other = new LocalDestination(options.destination(), state(), Reading.of(options),
                Progress.NONE, Optional.empty())) {
            SyncStats ofReplica = new Cycle(options, Reading.of(options), Progress.NONE).run(other, null);
            assertArrayEquals(stats.digest().getBytes(), ofReplica.digest().getBytes());
        }
    }
}
