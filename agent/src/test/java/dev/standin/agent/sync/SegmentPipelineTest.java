package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import dev.standin.agent.image.DiskImage;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentPipelineTest {

    private static final int SEGMENT = 256 << 10;

    @TempDir
    Path dir;

    /** 70 MiB; data in a few places, holes elsewhere. */
    private Path sparseImage() throws IOException {
        Path path = dir.resolve("sparse.img");
        SplittableRandom random = new SplittableRandom(7);
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long at : new long[] {0, 3 * SEGMENT + 4096, 64L << 20, (70L << 20) - 8192}) {
                byte[] data = new byte[SEGMENT + 12345];
                random.nextBytes(data);
                out.write(ByteBuffer.wrap(data), at);
            }
            out.truncate(70L << 20);
        }
        return path;
    }

    /** What a pass saw: the digest of its bytes in order, the segments it was cut into, the bytes it read. */
    private record Scan(String digest, List<Long> segmentLengths, long bytesRead) {}

    private static Scan scan(Path path, Optional<NativeIo> io) throws Exception {
        SegmentPipeline pipeline = new SegmentPipeline(SEGMENT, 2, false, io);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        List<Long> lengths = new ArrayList<>();
        try (DiskImage image = DiskImage.open(path, false, true, io)) {
            long read = pipeline.run(image, image.size(), (offset, data, n) -> {
                byte[] bytes = new byte[n];
                if (data != null) {
                    data.get(0, bytes);
                }
                return bytes;
            }, (offset, n, bytes) -> {
                assertEquals(lengths.stream().mapToLong(Long::longValue).sum(), offset, "segments follow each other");
                sha.update(bytes);
                lengths.add((long) n);
            }, done -> { });
            return new Scan(java.util.HexFormat.of().formatHex(sha.digest()), lengths, read);
        }
    }

    @Test
    void aScanSeesTheImageInSegmentsAndCountsOnlyAllocatedBytes() throws Exception {
        Path image = sparseImage();
        Optional<NativeIo> io = NativeIo.tryLoad();
        Scan read = scan(image, io);
        assertEquals(Images.sha256(image), read.digest(), "holes read as zeros between the extents");
        assertEquals(java.util.Collections.nCopies(70 * 4, (long) SEGMENT), read.segmentLengths(),
                "the segments asked for");
        if (io.isPresent()) {
            assertTrue(read.bytesRead() < 8L * SEGMENT, "holes are not counted as read: " + read.bytesRead());
        }
        Scan plain = scan(image, Optional.empty());
        assertEquals(read.digest(), plain.digest());
        assertEquals(70L << 20, plain.bytesRead(), "without extents every byte is read");
    }

    /**
     * A file cut short during the pass: the pass ends with an I/O error that names the cause, or
     * normally where the cut fell in what reads as a hole (a cycle then refuses the source for its
     * changed size), and never hangs.
     */
    @Test
    void aFileThatShrinksDuringThePassEndsItWithoutAHang() throws Exception {
        for (int round = 0; round < 5; round++) {
            Path path = dir.resolve("shrinking-" + round + ".img");
            byte[] data = new byte[8 << 20];
            new SplittableRandom(round).nextBytes(data);
            java.nio.file.Files.write(path, data);
            SegmentPipeline pipeline = new SegmentPipeline(SEGMENT, 2, false, NativeIo.tryLoad());
            try (DiskImage image = DiskImage.open(path, false, false, NativeIo.tryLoad());
                    FileChannel truncate = FileChannel.open(path, StandardOpenOption.WRITE)) {
                long size = image.size();
                assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                    try {
                        pipeline.run(image, size, (offset, view, n) -> {
                            if (offset == 0) {
                                truncate.truncate(0);
                                return view.get(n - 1);
                            }
                            return (byte) 0;
                        }, (offset, n, result) -> { }, done -> { });
                    } catch (IOException e) {
                        assertTrue(e.getMessage().contains("did it shrink during the cycle"), e.getMessage());
                    }
                });
            }
        }
    }

    @Test
    void resultsComeBackInOrderWithTheirOwnBytes() throws Exception {
        Path path = dir.resolve("ordered.img");
        byte[] data = new byte[9 << 20];
        for (int i = 0; i < data.length; i += 4) {
            ByteBuffer.wrap(data).putInt(i, i);
        }
        java.nio.file.Files.write(path, data);
        List<Long> offsets = new ArrayList<>();
        try (DiskImage image = DiskImage.open(path, false, false, NativeIo.tryLoad())) {
            new SegmentPipeline(SEGMENT, 3, false, NativeIo.tryLoad()).run(image, image.size(),
                    (offset, view, n) -> {
                        byte[] bytes = new byte[n];
                        view.get(0, bytes);
                        assertArrayEquals(java.util.Arrays.copyOfRange(data, (int) offset, (int) offset + n), bytes);
                        return offset;
                    }, (offset, n, result) -> offsets.add(result), done -> { });
        }
        for (int i = 0; i < offsets.size(); i++) {
            assertEquals((long) i * SEGMENT, offsets.get(i));
        }
        assertEquals(36, offsets.size());
    }

    /** Segments that change tracking marks unread are skipped whole, and take their given result. */
    @Test
    void aRunThatSkipsUnreadSegmentsReadsOnlyTheOthers() throws Exception {
        Path path = dir.resolve("tracked.img");
        java.nio.file.Files.write(path, new byte[4 << 20]);
        // Added to by the pipeline's two reading threads at once.
        List<Long> read = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> all = new ArrayList<>();
        SegmentPipeline.Unread<Long> everyOtherUnread = new SegmentPipeline.Unread<>() {
            @Override
            public boolean covers(long offset, int length) {
                return (offset / SEGMENT) % 2 == 1;
            }

            @Override
            public Long result(long offset, int length) {
                return -offset;
            }
        };
        try (DiskImage image = DiskImage.open(path, false, false, NativeIo.tryLoad())) {
            new SegmentPipeline(SEGMENT, 2, false, NativeIo.tryLoad()).run(image, image.size(),
                    (offset, view, n) -> {
                        read.add(offset);
                        return offset;
                    }, (offset, n, result) -> {
                        assertEquals(SEGMENT, n);
                        all.add(result);
                    }, done -> { }, everyOtherUnread);
        }
        assertEquals(16, all.size());
        assertEquals(List.of(0L, 2L * SEGMENT, 4L * SEGMENT, 6L * SEGMENT, 8L * SEGMENT, 10L * SEGMENT, 12L * SEGMENT,
                14L * SEGMENT), read.stream().sorted().toList());
    }
}
