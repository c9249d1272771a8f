package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Cli;
import dev.standin.agent.Images;
import dev.standin.delta.SignatureBuilder;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commit protocol of a point, one crash state at a time. Each state is built on disk exactly
 * as a crash would leave it (a committed journal put back, the index's newest point marked
 * pending, the replica half-replayed, the undo file torn), then recovered; afterwards every point
 * must restore to its own bytes. The first case fails if recovery captured undo data again from a
 * half-new replica.
 */
class PointProtocolIT {

    private static final int B = 4096;
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    private final Optional<NativeIo> io = NativeIo.tryLoad();
    private final Map<Long, String> contents = new HashMap<>();
    private Path source;
    private Path replica;
    private Path state;
    private Path journal;
    private PointStore store;

    /** Points 1 to 3 by real cycles, then a committed journal (not yet replayed) for point 4. */
    @BeforeEach
    void threePointsAndACommittedJournal() throws Exception {
        source = Images.create(dir.resolve("vm.img"), 4 * MIB, 1);
        replica = dir.resolve("replica.img");
        state = dir.resolve("state");
        for (int cycle = 1; cycle <= 3; cycle++) {
            if (cycle > 1) {
                PointsIT.change(source, cycle);
            }
            assertEquals(0, Cli.sync(source, replica, state).exit());
            contents.put((long) cycle, Images.sha256(source));
        }
        PointsIT.change(source, 5); // grows: the journal reaches past the old end
        contents.put(4L, Images.sha256(source));
        journal = Journal.pathFor(replica, false, state);
        writeJournal(replica, source, journal);
        store = PointStore.beside(replica, io);
    }

    /** A journal as a cycle writes it: one DATA or ZERO record per block that differs, then COMMIT. */
    private static void writeJournal(Path basis, Path target, Path journal) throws IOException {
        byte[] old = Files.readAllBytes(basis);
        byte[] now = Files.readAllBytes(target);
        byte[] digest = SignatureBuilder.of(ByteBuffer.wrap(now), B).digest();
        try (Journal.Writer w = new Journal.Writer(journal, B, now.length, old.length, new byte[32])) {
            for (int block = 0; (long) block * B < now.length; block++) {
                int from = block * B;
                int n = Math.min(B, now.length - from);
                boolean same = from + n <= old.length
                        && java.util.Arrays.equals(now, from, from + n, old, from, from + n);
                if (same) {
                    continue;
                }
                if (java.util.Arrays.equals(now, from, from + n, new byte[n], 0, n)) {
                    w.zero(block, n);
                } else {
                    w.data(block, ByteBuffer.wrap(now, from, n));
                }
            }
            w.commit(digest);
        }
    }

    @Test
    void replayRunAgainOverAHalfNewReplicaDoesNotCaptureAgain() throws Exception {
        Path oldImage = Files.copy(replica, dir.resolve("old.img"));
        Path savedJournal = Files.copy(journal, dir.resolve("journal.saved"));
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false, io));
        byte[] undo = Files.readAllBytes(store.undoPath(3));

        // The crash: journal committed and present, point 4 pending, the replica half replayed.
        Files.copy(savedJournal, journal, StandardCopyOption.REPLACE_EXISTING);
        markNewestPending();
        byte[] mixed = Files.readAllBytes(replica);
        byte[] old = Files.readAllBytes(oldImage);
        System.arraycopy(old, 0, mixed, 0, Math.min(old.length, mixed.length) / 2);
        Files.write(replica, mixed);

        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false, io));
        assertArrayEquals(undo, Files.readAllBytes(store.undoPath(3)), "undo data captured again from a mixed replica");
        assertEquals(contents.get(4L), Images.sha256(replica));
        assertEveryPointRestores(1, 4);
    }

    /**
     * The undo data is captured from the ranges the validating parse noted, or, for a journal of
     * more records than are kept in memory, from a second parse: both must capture the same.
     */
    @Test
    void undoDataIsTheSameFromNotedRangesAndFromASecondParse() throws Exception {
        Path savedJournal = Files.copy(journal, dir.resolve("journal.saved"));
        Path savedReplica = Files.copy(replica, dir.resolve("replica.saved"));
        Path savedIndex = Files.copy(store.directory().resolve("index"), dir.resolve("index.saved"));
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false, io));
        byte[] fromNotedRanges = Files.readAllBytes(store.undoPath(3));
        assertEquals(contents.get(4L), Images.sha256(replica));

        Files.copy(savedJournal, journal, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(savedReplica, replica, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(savedIndex, store.directory().resolve("index"), StandardCopyOption.REPLACE_EXISTING);
        Files.delete(store.undoPath(3));
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false, io, false, 1));
        assertArrayEquals(fromNotedRanges, Files.readAllBytes(store.undoPath(3)));
        assertEveryPointRestores(1, 4);
    }

    @Test
    void anIncompleteCaptureIsDoneAgain() throws Exception {
        // The crash: journal committed, the capture torn (no END record), the replica untouched.
        byte[] torn = new byte[700];
        System.arraycopy(UndoFile.MAGIC, 0, torn, 0, 8);
        Files.write(store.undoPath(3), torn);
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false, io));
        assertEquals(3, UndoFile.check(store.undoPath(3)).pointId());
        assertEveryPointRestores(1, 4);
    }

    @Test
    void aPendingPointLeftAfterTheJournalWasDeletedIsSettled() throws Exception {
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false, io));
        markNewestPending(); // the crash: between the journal's deletion and the settling
        assertEquals(Journal.Recovery.NONE, Journal.recover(journal, replica, false, io));
        assertFalse(store.points().get(3).pending());
        assertEveryPointRestores(1, 4);
    }

    @Test
    void aCrashBeforeTheCommitRecordLeavesThePointsAsTheyWere() throws Exception {
        List<Point> before = store.points();
        byte[] bytes = Files.readAllBytes(journal);
        Files.write(journal, java.util.Arrays.copyOf(bytes, bytes.length - 1)); // COMMIT torn
        assertEquals(Journal.Recovery.DISCARDED, Journal.recover(journal, replica, false, io));
        assertEquals(before, store.points());
        assertFalse(Files.exists(store.undoPath(3)), "nothing captured for a journal that was never committed");
        assertEquals(contents.get(3L), Images.sha256(replica));
        assertEveryPointRestores(1, 3);
    }

    @Test
    void aFirstCopyThatNeverReachedItsRenameLeavesNoPoint() throws Exception {
        Path fresh = dir.resolve("fresh.img");
        Files.createFile(fresh); // an empty destination: a first copy
        PointStore freshStore = PointStore.beside(fresh, io);
        freshStore.beforeFirstCopy(4 * MIB, B, new byte[32]);
        assertTrue(freshStore.points().get(0).pending());
        // The crash came before the rename: recovery finds an empty replica, not the pending image.
        Journal.recover(Journal.pathFor(fresh, false, state), fresh, false, io);
        assertEquals(List.of(), freshStore.points());
    }

    private void markNewestPending() throws IOException {
        Path indexFile = store.directory().resolve("index");
        PointIndex index = PointIndex.read(indexFile);
        Point p = index.newest();
        index.replacingNewest(new Point(p.id(), p.committed(), p.length(), p.blockSize(), p.digest(), p.kind(), true))
                .write(indexFile);
    }

    private void assertEveryPointRestores(long first, long last) throws Exception {
        List<Long> ids = new ArrayList<>();
        for (Point p : store.points()) {
            ids.add(p.id());
        }
        List<Long> expected = new ArrayList<>();
        for (long id = first; id <= last; id++) {
            expected.add(id);
        }
        assertEquals(expected, ids);
        for (long id = first; id <= last; id++) {
            Path target = dir.resolve("restored-" + id + ".img");
            Cli.Result r = Cli.run("restore", replica + "@" + id, target.toString(), "--state-dir", state.toString());
            assertEquals(0, r.exit(), "point " + id + ": " + r.err());
            assertEquals(contents.get(id), Images.sha256(target), "point " + id);
        }
    }
}
