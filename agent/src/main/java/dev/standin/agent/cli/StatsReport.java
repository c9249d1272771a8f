package dev.standin.agent.cli;

import dev.standin.agent.sync.SyncStats;
import java.io.PrintWriter;

/** The human-readable summary of {@code --stats}, in rsync's spirit. */
final class StatsReport {

    private StatsReport() {}

    static void print(SyncStats s, PrintWriter out) {
        out.printf("Source:          %s (%s)%n", s.source(), bytes(s.sourceBytes()));
        out.printf("Destination:     %s%s%n", s.destination(), s.firstCopy() ? " (first copy)" : "");
        out.printf("Blocks:          %d of %d bytes: %d same, %d moved, %d zero, %d changed%n",
                s.blocks(), s.blockSize(), s.blocksSame(), s.blocksMoved(), s.blocksZero(), s.blocksChanged());
        out.printf("Bytes read:      %s (source %s, replica %s; replica signatures: %s)%n",
                bytes(s.bytesRead()), bytes(s.sourceBytesRead()), bytes(s.replicaBytesRead()), s.signatures());
        out.printf("Literal data:    %s%n", bytes(s.literalBytes()));
        out.printf("Wire bytes:      %s (compression %s)%n", bytes(s.wireBytes()), s.compression());
        out.printf("Image digest:    %s (%s)%n", s.digest(), DIGEST_NOTE);
        out.printf("Tracking:        %s%n", s.tracking());
        if (!s.pointsDropped().isEmpty()) {
            out.printf("Points dropped:  %s (the replica no longer held them)%s%n", ids(s.pointsDropped()),
                    s.dryRun() ? ", in a real run" : "");
        }
        out.printf("Time:            %.2f s (%s/s)%s%n", s.seconds(),
                bytes((long) (s.sourceBytes() / Math.max(s.seconds(), 1e-9))), s.dryRun() ? ", dry run: nothing written" : "");
        out.flush();
    }

    /** Beside every digest shown to a person: what it is, and that sha256sum will not match it. */
    static final String DIGEST_NOTE = dev.standin.delta.ImageDigest.NAME + ", not the image's SHA-256";

    /** "3", "2 and 3", "1, 2 and 3". */
    static String ids(java.util.List<Long> ids) {
        if (ids.size() == 1) {
            return ids.get(0).toString();
        }
        String all = ids.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", "));
        int last = all.lastIndexOf(", ");
        return all.substring(0, last) + " and " + all.substring(last + 2);
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.2f %s", v, units[u]);
    }
}
