package dev.standin.agent.verify;

import java.util.List;

/**
 * What one scrub of a replica found, printed by {@code standin verify} (and as JSON by
 * {@code --json}).
 *
 * @param record what the replica was compared with: {@code intact} (the last commit's record, and
 *     the replica's identity is as recorded), {@code identity-changed} (the record, but the replica
 *     was written, touched or replaced since; its content is compared all the same),
 *     {@code missing}, {@code damaged}, or {@code other-block-size} (a repair cycle whose block
 *     size differs from the record's); in the last three nothing was compared
 * @param recordDetail the same in a sentence
 * @param identityChanges which of device, inode, size, mtime, ctime differ from the record
 * @param recovery what happened to a journal left by an interrupted sync: none, replayed, discarded
 * @param compared whether the replica's blocks were compared with a record
 * @param length bytes of the replica scrubbed
 * @param blocksChecked blocks signed (and compared, if {@code compared})
 * @param bytesRead bytes actually read; holes of a sparse replica are not read
 * @param blocksDrifted blocks whose content differs from the record, including blocks the replica
 *     gained or lost by changing size
 * @param bytesDrifted the bytes of those blocks
 * @param driftedRanges the drifted blocks as coalesced byte ranges, the first {@value DriftTally#MAX_RANGES}
 * @param rangesOmitted further ranges not listed
 * @param expectedDigest image digest the record describes (as {@code standin sync} prints it), or null
 * @param actualDigest image digest of the replica as read, or null if it was not read
 */
public record ScrubReport(
        String replica,
        String record,
        String recordDetail,
        List<String> identityChanges,
        String recovery,
        boolean compared,
        long length,
        int blockSize,
        long blocksChecked,
        long bytesRead,
        long blocksDrifted,
        long bytesDrifted,
        List<Range> driftedRanges,
        long rangesOmitted,
        String expectedDigest,
        String actualDigest,
        double seconds) {

    /** {@code [offset, offset + length)} of the replica. */
    public record Range(long offset, long length) {}

    public ScrubReport {
        identityChanges = List.copyOf(identityChanges);
        driftedRanges = List.copyOf(driftedRanges);
    }
}
