import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Writes the test images for the standin benchmark, deterministically from a seed.
 *
 * <pre>
 * java bench/MakeImages.java [--out DIR] [--size 4G] [--change 0.01] [--seed 42]
 *     writes DIR/base.img, DIR/changed.img and DIR/changes.json
 * java bench/MakeImages.java [--out DIR] --sparse-size 32G --data 256M [--seed 42]
 *     writes DIR/sparse.img (only DATA bytes of random data, scattered; the rest is holes)
 * </pre>
 *
 * base.img is a sequence of extents of 64 KiB - 8 MiB (log-uniform, 4 KiB aligned): about 45 % of
 * the bytes random (incompressible), 35 % compressible (log lines and metadata-like records with
 * small variations), 20 % zero. Zero extents are never written, so they are holes in the file.
 * changed.img is base.img (holes kept) with a fraction of its 4 KiB blocks overwritten by new random
 * data, in clusters of 1-16 adjacent blocks. changes.json records the exact number of changed blocks.
 *
 * Single file, no dependencies: JDK 17 source launcher.
 */
public final class MakeImages {

    static final int BLOCK = 4096;
    static final int MIN_EXTENT = 64 << 10;
    static final int MAX_EXTENT = 8 << 20;
    static final int CHUNK = 8 << 20;

    enum Kind { RANDOM, TEXT, ZERO }

    record Extent(long offset, long length, Kind kind, int index) {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(".");
        long size = 4L << 30;
        double change = 0.01;
        long seed = 42;
        long sparseSize = -1;
        long data = 256L << 20;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--out" -> out = Path.of(value(args, ++i, a));
                case "--size" -> size = parseSize(value(args, ++i, a));
                case "--change" -> change = Double.parseDouble(value(args, ++i, a));
                case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
                case "--sparse-size" -> sparseSize = parseSize(value(args, ++i, a));
                case "--data" -> data = parseSize(value(args, ++i, a));
                case "-h", "--help" -> {
                    System.out.println("usage: java MakeImages.java [--out DIR] [--size 4G] [--change 0.01] [--seed 42]\n"
                            + "       java MakeImages.java [--out DIR] --sparse-size 32G --data 256M [--seed 42]");
                    return;
                }
                default -> die("unknown argument: " + a);
            }
        }
        Files.createDirectories(out);
        if (sparseSize > 0) {
            makeSparse(out.resolve("sparse.img"), sparseSize, data, seed);
            return;
        }
        if (size <= 0 || size % BLOCK != 0) {
            die("--size must be a positive multiple of 4096, got " + size);
        }
        if (!(change >= 0 && change <= 1)) {
            die("--change must be within 0..1, got " + change);
        }
        long t0 = System.nanoTime();
        List<Extent> extents = layout(size, seed);
        Path base = out.resolve("base.img");
        long[] byKind = writeBase(base, size, extents, seed);
        double s1 = (System.nanoTime() - t0) / 1e9;
        long written = byKind[0] + byKind[1];
        System.err.printf(Locale.ROOT, "base.img: %s in %.1f s (%.0f MB/s of data): random %s, compressible %s, zero (holes) %s, %d extents%n",
                human(size), s1, written / 1e6 / s1, human(byKind[0]), human(byKind[1]), human(byKind[2]), extents.size());

        long t1 = System.nanoTime();
        Path changed = out.resolve("changed.img");
        copySparse(base, changed, size, extents);
        Changes c = applyChanges(changed, size, change, seed);
        double s2 = (System.nanoTime() - t1) / 1e9;
        System.err.printf(Locale.ROOT, "changed.img: copied and changed in %.1f s: %d blocks of 4 KiB changed (%d bytes, %s) in %d clusters%n",
                s2, c.blocks, c.blocks * (long) BLOCK, human(c.blocks * (long) BLOCK), c.clusters);
        String json = String.format(Locale.ROOT,
                "{\"size\":%d,\"seed\":%d,\"changeFraction\":%s,\"blockSize\":%d,\"changedBlocks\":%d,\"changedBytes\":%d,"
                        + "\"clusters\":%d,\"changedBlocksInHoles\":%d,\"randomBytes\":%d,\"compressibleBytes\":%d,\"zeroBytes\":%d,\"extents\":%d}%n",
                size, seed, Double.toString(change), BLOCK, c.blocks, c.blocks * (long) BLOCK, c.clusters, c.inHoles,
                byKind[0], byKind[1], byKind[2], extents.size());
        Files.writeString(out.resolve("changes.json"), json);
        System.out.print(json);
    }

    // ---------------------------------------------------------------- layout

    static List<Extent> layout(long size, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Extent> list = new ArrayList<>();
        double logMin = Math.log(MIN_EXTENT), logMax = Math.log(MAX_EXTENT);
        long off = 0;
        while (off < size) {
            long len = (long) Math.exp(logMin + r.nextDouble() * (logMax - logMin));
            len = Math.max(BLOCK, len / BLOCK * BLOCK);
            len = Math.min(len, size - off);
            double p = r.nextDouble();
            Kind k = p < 0.45 ? Kind.RANDOM : p < 0.80 ? Kind.TEXT : Kind.ZERO;
            list.add(new Extent(off, len, k, list.size()));
            off += len;
        }
        return list;
    }

    // ---------------------------------------------------------------- base.img

    static long[] writeBase(Path path, long size, List<Extent> extents, long seed) throws IOException {
        long[] byKind = new long[3];
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (Extent e : extents) {
                byKind[e.kind.ordinal()] += e.length;
                if (e.kind == Kind.ZERO) {
                    continue;
                }
                SplittableRandom r = new SplittableRandom(mix(seed, e.index));
                TextGen text = e.kind == Kind.TEXT ? new TextGen(r, e.offset) : null;
                for (long done = 0; done < e.length; ) {
                    int n = (int) Math.min(CHUNK, e.length - done);
                    buf.clear().limit(n);
                    if (text != null) {
                        text.fill(buf);
                    } else {
                        fillRandom(buf, r);
                    }
                    buf.flip();
                    writeFully(ch, buf, e.offset + done);
                    done += n;
                }
            }
        }
        try (var raf = new java.io.RandomAccessFile(path.toFile(), "rw")) {
            raf.setLength(size);
        }
        return byKind;
    }

    /** Fills buf from position to limit (a multiple of 8) with random longs. */
    static void fillRandom(ByteBuffer buf, SplittableRandom r) {
        int start = buf.position();
        int n = buf.remaining();
        LongBuffer lb = buf.asLongBuffer();
        for (int i = 0, m = n / 8; i < m; i++) {
            lb.put(i, r.nextLong());
        }
        buf.position(start + n);
    }

    /**
     * Compressible content, built from templates with small variations: syslog-like lines with an
     * increasing timestamp and a few numbers, or 256-byte inode-table-like records (mostly zero,
     * with an inode number, sizes and times). Compresses roughly 3-10x with lz4/zstd.
     */
    static final class TextGen {
        private static final byte[][] LINES = lines(
                " web-07 kernel: EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.\n",
                " web-07 systemd[1]: Started Session 412 of user deploy.\n",
                " web-07 sshd[2231]: Accepted publickey for deploy from 10.0.3.17 port 51514 ssh2: ED25519\n",
                " web-07 nginx[881]: 10.0.4.2 - - \"GET /api/v2/items?page=3 HTTP/1.1\" 200 5123 \"-\" \"curl/7.88.1\"\n",
                " web-07 CRON[9811]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)\n",
                " web-07 postgres[1402]: LOG:  checkpoint complete: wrote 1174 buffers (7.2%); 0 WAL file(s) added\n",
                " web-07 java[3120]: INFO  c.e.orders.OrderService - order 88123 accepted, 3 items, total 129.90 EUR\n",
                " web-07 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC=203.0.113.9 DST=10.0.3.7 PROTO=TCP\n");

        private final SplittableRandom r;
        private final boolean records;
        private long counter;

        TextGen(SplittableRandom r, long offset) {
            this.r = r;
            this.records = r.nextInt(3) == 0;
            this.counter = 1_700_000_000_000L + offset / 97;
        }

        private static byte[][] lines(String... s) {
            byte[][] b = new byte[s.length][];
            for (int i = 0; i < s.length; i++) {
                b[i] = s[i].getBytes(StandardCharsets.US_ASCII);
            }
            return b;
        }

        void fill(ByteBuffer buf) {
            if (records) {
                fillRecords(buf);
            } else {
                fillLines(buf);
            }
        }

        private void fillRecords(ByteBuffer buf) {
            while (buf.remaining() >= 256) {
                int p = buf.position();
                for (int i = 0; i < 256; i += 8) {
                    buf.putLong(p + i, 0);
                }
                long ino = counter++;
                buf.putShort(p, (short) (r.nextInt(4) == 0 ? 0x41ed : 0x81a4)); // mode
                buf.putShort(p + 2, (short) 1000); // uid
                buf.putInt(p + 4, r.nextInt(1 << 20)); // size
                int time = 1_690_000_000 + (int) (ino % 10_000_000);
                buf.putInt(p + 8, time);
                buf.putInt(p + 12, time);
                buf.putInt(p + 16, time + r.nextInt(100));
                buf.putShort(p + 26, (short) 1); // links
                buf.putInt(p + 28, 8 * (1 + r.nextInt(64))); // blocks
                buf.putInt(p + 32, 0x80000); // flags: extents
                buf.putShort(p + 40, (short) 0xf30a); // extent header magic
                buf.putShort(p + 42, (short) 1);
                buf.putShort(p + 44, (short) 4);
                buf.putInt(p + 52, (int) (ino * 37 & 0x0fffffff)); // first block
                buf.putLong(p + 128, ino);
                buf.position(p + 256);
            }
            while (buf.hasRemaining()) {
                buf.put((byte) 0);
            }
        }

        private void fillLines(ByteBuffer buf) {
            byte[] ts = new byte[32];
            while (buf.hasRemaining()) {
                counter += 1 + r.nextInt(900);
                int tl = timestamp(ts, counter);
                byte[] line = LINES[r.nextInt(LINES.length)];
                int n = Math.min(buf.remaining(), tl);
                buf.put(ts, 0, n);
                int m = Math.min(buf.remaining(), line.length);
                int p = buf.position();
                buf.put(line, 0, m);
                // small variations: a few digits of the line changed
                for (int k = 0; k < 3 && m > 16; k++) {
                    int at = p + 16 + r.nextInt(m - 16);
                    byte b = buf.get(at);
                    if (b >= '0' && b <= '9') {
                        buf.put(at, (byte) ('0' + r.nextInt(10)));
                    }
                }
            }
        }

        /** "2024-..-..T..:..:..,mmm" -like, written without formatting: digits of the counter. */
        private static int timestamp(byte[] out, long millis) {
            long v = millis;
            int i = 23;
            out[i] = ' ';
            for (int k = 0; k < 3; k++) { out[--i] = (byte) ('0' + v % 10); v /= 10; }
            out[--i] = '.';
            for (int k = 0; k < 2; k++) { out[--i] = (byte) ('0' + v % 10); v /= 10; }
            out[--i] = ':';
            for (int k = 0; k < 2; k++) { out[--i] = (byte) ('0' + v % 6); v /= 6; }
            out[--i] = ':';
            for (int k = 0; k < 2; k++) { out[--i] = (byte) ('0' + v % 10); v /= 10; }
            out[--i] = 'T';
            for (int k = 0; k < 2; k++) { out[--i] = (byte) ('0' + v % 10); v /= 10; }
            out[--i] = '-';
            out[--i] = '1';
            out[--i] = '1';
            out[--i] = '-';
            out[--i] = '4';
            out[--i] = '2';
            out[--i] = '0';
            out[--i] = '2';
            System.arraycopy(out, i, out, 0, 24 - i);
            return 24 - i;
        }
    }

    // ---------------------------------------------------------------- changed.img

    /** Copies the data extents of base into a new file of the same size; zero extents stay holes. */
    static void copySparse(Path from, Path to, long size, List<Extent> extents) throws IOException {
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
            for (Extent e : extents) {
                if (e.kind == Kind.ZERO) {
                    continue;
                }
                long done = 0;
                while (done < e.length) {
                    out.position(e.offset + done);
                    long n = in.transferTo(e.offset + done, e.length - done, out);
                    if (n <= 0) {
                        throw new IOException("transferTo made no progress at " + (e.offset + done));
                    }
                    done += n;
                }
            }
        }
        try (var raf = new java.io.RandomAccessFile(to.toFile(), "rw")) {
            raf.setLength(size);
        }
    }

    record Changes(long blocks, long clusters, long inHoles) {}

    /** Overwrites round(fraction * blocks) distinct 4 KiB blocks with new random data, in clusters of 1-16. */
    static Changes applyChanges(Path path, long size, double fraction, long seed) throws IOException {
        long totalBlocks = size / BLOCK;
        long target = Math.round(fraction * totalBlocks);
        if (totalBlocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("image too large for the change map");
        }
        SplittableRandom r = new SplittableRandom(mix(seed, 0x5eed_c4a6_e5L));
        BitSet changed = new BitSet((int) totalBlocks);
        long count = 0;
        // choose the clusters first, counting distinct blocks exactly
        List<long[]> clusters = new ArrayList<>();
        int guard = 0;
        while (count < target) {
            int len = 1 + r.nextInt(16);
            long start = r.nextLong(totalBlocks);
            len = (int) Math.min(len, totalBlocks - start);
            int added = 0;
            int fresh = 0;
            for (int i = 0; i < len; i++) {
                if (!changed.get((int) (start + i))) {
                    fresh++;
                }
            }
            if (fresh == 0) {
                if (++guard > 1_000_000) {
                    throw new IllegalStateException("cannot place more changes");
                }
                continue;
            }
            // trim the cluster so that the total hits the target exactly
            int use = 0;
            for (int i = 0; i < len && count + added < target; i++) {
                use = i + 1;
                if (!changed.get((int) (start + i))) {
                    added++;
                }
            }
            changed.set((int) start, (int) (start + use));
            count += added;
            clusters.add(new long[] {start, use});
        }
        clusters.sort((a, b) -> Long.compare(a[0], b[0]));
        ByteBuffer buf = ByteBuffer.allocateDirect(16 * BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer probe = ByteBuffer.allocateDirect(BLOCK);
        long inHoles = 0;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (long[] c : clusters) {
                int len = (int) c[1] * BLOCK;
                // count (for information) how many overwritten blocks were zero before
                for (int i = 0; i < c[1]; i++) {
                    probe.clear();
                    readFully(ch, probe, (c[0] + i) * BLOCK);
                    if (isZero(probe)) {
                        inHoles++;
                    }
                }
                buf.clear().limit(len);
                fillRandom(buf, r);
                buf.flip();
                writeFully(ch, buf, c[0] * BLOCK);
            }
        }
        return new Changes(changed.cardinality(), clusters.size(), inHoles);
    }

    static boolean isZero(ByteBuffer b) {
        for (int i = 0; i < b.limit(); i += 8) {
            if (b.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- sparse.img

    /** DATA bytes of random data in extents of 64 KiB - 8 MiB, one per equal slot of the image, at a random aligned offset. */
    static void makeSparse(Path path, long size, long data, long seed) throws IOException {
        if (size % BLOCK != 0 || data > size) {
            die("--sparse-size must be a multiple of 4096 and at least --data");
        }
        long t0 = System.nanoTime();
        SplittableRandom r = new SplittableRandom(seed);
        List<Long> lengths = new ArrayList<>();
        double logMin = Math.log(MIN_EXTENT), logMax = Math.log(MAX_EXTENT);
        for (long sum = 0; sum < data; ) {
            long len = Math.max(BLOCK, (long) Math.exp(logMin + r.nextDouble() * (logMax - logMin)) / BLOCK * BLOCK);
            len = Math.min(len, data - sum);
            lengths.add(len);
            sum += len;
        }
        long slot = size / lengths.size() / BLOCK * BLOCK;
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (int i = 0; i < lengths.size(); i++) {
                long len = lengths.get(i);
                if (len > slot) {
                    die("--data too large for --sparse-size: extents of up to 8 MiB need slots of " + human(len));
                }
                long off = i * slot + r.nextLong((slot - len) / BLOCK + 1) * BLOCK;
                for (long done = 0; done < len; ) {
                    int n = (int) Math.min(CHUNK, len - done);
                    buf.clear().limit(n);
                    fillRandom(buf, r);
                    buf.flip();
                    writeFully(ch, buf, off + done);
                    done += n;
                }
            }
        }
        try (var raf = new java.io.RandomAccessFile(path.toFile(), "rw")) {
            raf.setLength(size);
        }
        System.err.printf(Locale.ROOT, "sparse.img: %s with %s of random data in %d extents, %.1f s%n",
                human(size), human(data), lengths.size(), (System.nanoTime() - t0) / 1e9);
        System.out.printf(Locale.ROOT, "{\"size\":%d,\"dataBytes\":%d,\"extents\":%d,\"seed\":%d}%n", size, data, lengths.size(), seed);
    }

    // ---------------------------------------------------------------- helpers

    static void writeFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at " + pos);
            }
            pos += n;
        }
    }

    static long mix(long seed, long i) {
        long z = seed * 0x9E3779B97F4A7C15L + i * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static long parseSize(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.endsWith("IB")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        long mult = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'K' -> mult = 1L << 10;
            case 'M' -> mult = 1L << 20;
            case 'G' -> mult = 1L << 30;
            case 'T' -> mult = 1L << 40;
            default -> { }
        }
        if (mult != 1) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            return (long) (Double.parseDouble(t) * mult);
        } catch (NumberFormatException e) {
            die("not a size: " + s);
            return 0;
        }
    }

    static String human(long b) {
        if (b >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
        if (b >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        if (b >= 1L << 10) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        return b + " B";
    }

    static String value(String[] args, int i, String name) {
        if (i >= args.length) {
            die(name + " needs a value");
        }
        return args[i];
    }

    static void die(String msg) {
        System.err.println("MakeImages: " + msg);
        System.exit(2);
    }
}
