package dev.standin.agent.replica;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.util.Arrays;
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
        byte[] now = Files.readAllBytes(target);
        try (Journal.Writer w = new Journal.Writer(journal, B, now.length, Files.size(basis), new byte[32])) {
            feedChanges(basis, target, w::data, w::zero);
            w.commit(SignatureBuilder.of(ByteBuffer.wrap(now), B).digest());
        }
    }

    private interface DataSink {
        void data(int block, ByteBuffer content) throws IOException;
    }

    private interface ZeroSink {
        void zero(int block, int length) throws IOException;
    }

    /** Each block of {@code target} that differs from {@code basis}, in order, as a cycle's receiver gets it. */
    private static void feedChanges(Path basis, Path target, DataSink data, ZeroSink zero) throws IOException {
        byte[] old = Files.readAllBytes(basis);
        byte[] now = Files.readAllBytes(target);
        for (int block = 0; (long) block * B < now.length; block++) {
            int from = block * B;
            int n = Math.min(B, now.length - from);
            boolean same = from + n <= old.length && Arrays.equals(now, from, from + n, old, from, from + n);
            if (same) {
                continue;
            }
            if (Arrays.equals(now, from, from + n, new byte[n], 0, n)) {
                zero.zero(block, n);
            } else {
                data.data(block, ByteBuffer.wrap(now, from, n));
            }
        }
    }

    /** A cycle's receiver: the changes journaled by a {@link JournaledReplica} keeping points. */
    private JournaledReplica journaling() throws IOException {
        return new JournaledReplica(replica, false, journal, B, Files.size(source), Files.size(replica), new byte[32],
                io, 24);
    }

    /**
     * A cycle's receiver captures the undo data as it journals, and its replay then does not capture
     * again: the file must be what a capture at the replay makes, and complete only once committed.
     */
    @Test
    void undoDataCapturedWhileJournalingIsWhatTheReplayWouldCapture() throws Exception {
        Path savedReplica = Files.copy(replica, dir.resolve("replica.saved"));
        Path savedIndex = Files.copy(store.directory().resolve("index"), dir.resolve("index.saved"));
        assertEquals(Journal.Recovery.REPLAYED, Journal.recover(journal, replica, false, io));
        byte[] capturedAtReplay = Files.readAllBytes(store.undoPath(3));
        Files.copy(savedReplica, replica, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(savedIndex, store.directory().resolve("index"), StandardCopyOption.REPLACE_EXISTING);
        Files.delete(store.undoPath(3));

        try (JournaledReplica cycle = journaling()) {
            feedChanges(replica, source, cycle::data, cycle::zero);
            assertTrue(Files.size(store.undoPath(3)) > 0, "nothing captured while journaling");
            assertThrows(PointFormatException.class, () -> UndoFile.check(store.undoPath(3)), "complete before the commit");
            cycle.commit(SignatureBuilder.of(ByteBuffer.wrap(Files.readAllBytes(source)), B).digest());
        }
        assertArrayEquals(capturedAtReplay, Files.readAllBytes(store.undoPath(3)));
        assertFalse(Files.exists(journal));
        assertEquals(contents.get(4L), Images.sha256(replica));
        assertEveryPointRestores(1, 4);
    }

    /** A cycle that fails before its commit (a bad stream, ENOSPC) leaves no undo data and every point as it was. */
    @Test
    void aCycleStoppedBeforeItsCommitLeavesNoUndoData() throws Exception {
        Files.delete(journal);
        List<Point> before = store.points();
        for (boolean discard : new boolean[] {true, false}) {
            try (JournaledReplica cycle = journaling()) {
                feedChanges(replica, source, cycle::data, cycle::zero);
                if (discard) {
                    cycle.discard();
                } else {
                    cycle.abort();
                }
            }
            assertFalse(Files.exists(store.undoPath(3)), "a partial capture was left (discard: " + discard + ")");
            assertEquals(before, store.points());
            assertEquals(contents.get(3L), Images.sha256(replica));
            Journal.recover(journal, replica, false, io, true); // what the next cycle's session does first
        }
        assertEveryPointRestores(1, 3);
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
        Files.write(journal, Arrays.copyOf(bytes, bytes.length - 1)); // COMMIT torn
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
