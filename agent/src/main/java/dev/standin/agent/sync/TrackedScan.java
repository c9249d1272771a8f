package dev.standin.agent.sync;

import dev.standin.delta.ImageDigest;
import dev.standin.delta.Signatures;
import dev.standin.snapshot.Tracking;

/**
 * Whether a cycle may read only the changed extents, and what the stats say about it. Skipping
 * unchanged extents takes their content from the replica's cached signatures, so it is safe only
 * if (1) the hook trusts its tracking, (2) the signatures came from a cache, here or on the
 * receiving host (the replica is provably as last committed), (3) the size is unchanged, and (4)
 * the replica's digest is the one the hook recorded when tracking last advanced, i.e. the changes
 * are relative to this very replica. Otherwise the whole source is scanned and the reason is reported.
 */
record TrackedScan(UnchangedSegments unread, ScanMethod description) {

    static TrackedScan decide(Tracking tracking, boolean firstCopy, SignatureSource signatureSource, Signatures basis, long length) {
        if (tracking == null) {
            return new TrackedScan(null, ScanMethod.NONE);
        }
        if (tracking.changes().isEmpty()) {
            return full(tracking.reason());
        }
        if (firstCopy) {
            return full("first copy");
        }
        if (!signatureSource.provesLastCommit()) {
            return full("no valid signature cache for the replica (it was changed or the cache is missing)");
        }
        if (basis.length() != length || tracking.changes().get().diskSize() != length) {
            return full("the disk size changed");
        }
        if (!ImageDigest.hex(basis.digest()).equals(tracking.replicaDigest())) {
            return full("the replica is not the one the tracked changes are relative to");
        }
        return new TrackedScan(UnchangedSegments.trackedBy(tracking.changes().get(), basis),
                ScanMethod.tracked(tracking.method()));
    }

    private static TrackedScan full(String reason) {
        return new TrackedScan(null, ScanMethod.fullScan(reason));
    }
}
