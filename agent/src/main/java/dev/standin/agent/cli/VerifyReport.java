package dev.standin.agent.cli;

import dev.standin.agent.sync.SyncStats;
import dev.standin.agent.verify.ScrubReport;
import dev.standin.agent.verify.VerifyResult;
import java.io.PrintWriter;

/** The human-readable summary of {@code standin verify}. */
final class VerifyReport {

    private VerifyReport() {}

    static void print(VerifyResult result, PrintWriter out) {
        ScrubReport s = result.scrub();
        out.printf("Replica:         %s (%s in blocks of %d bytes)%n", s.replica(), StatsReport.bytes(s.length()),
                s.blockSize());
        out.printf("Record:          %s: %s%n", s.record(), s.recordDetail());
        out.printf("Read:            %s of %d blocks (holes are not read) in %.2f s%n", StatsReport.bytes(s.bytesRead()),
                s.blocksChecked(), s.seconds());
        if (s.compared()) {
            if (s.blocksDrifted() == 0) {
                out.printf("Drift:           none%n");
            } else {
                out.printf("Drift:           %d blocks (%s) in %d ranges:%n", s.blocksDrifted(),
                        StatsReport.bytes(s.bytesDrifted()), s.driftedRanges().size() + s.rangesOmitted());
                for (ScrubReport.Range r : s.driftedRanges()) {
                    out.printf("                 bytes %d to %d (%s)%n", r.offset(), r.offset() + r.length(),
                            StatsReport.bytes(r.length()));
                }
                if (s.rangesOmitted() > 0) {
                    out.printf("                 and %d more ranges%n", s.rangesOmitted());
                }
            }
            out.printf("Image digest:    recorded %s (%s)%n", s.expectedDigest(), StatsReport.DIGEST_NOTE);
        }
        if (s.actualDigest() != null) {
            out.printf("                 replica  %s%n", s.actualDigest());
        }
        SyncStats r = result.repair();
        if (r != null) {
            out.printf("Repair:          from %s: %d blocks rewritten (%d changed, %d moved, %d zero), %s literal%n",
                    r.source(), r.blocksChanged() + r.blocksMoved() + r.blocksZero(), r.blocksChanged(), r.blocksMoved(),
                    r.blocksZero(), StatsReport.bytes(r.literalBytes()));
            out.printf("                 replica now %s, as the source (%.2f s)%n", r.digest(), r.seconds());
            if (!r.pointsDropped().isEmpty()) {
                out.printf("                 dropped recovery points %s, restored from the drifted replica's content%n",
                        StatsReport.ids(r.pointsDropped()));
            }
        }
        out.printf("Status:          %s%n", result.status());
        out.flush();
    }
}
