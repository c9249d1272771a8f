package dev.standin.delta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StrongHashTest {

    /** Reference values from xxhsum 0.8 (`printf standin | xxhsum -H3`). */
    @Test
    void matchesXxhsumOnHeapAndDirectBuffers() {
        byte[] word = "standin".getBytes(StandardCharsets.US_ASCII);
        assertEquals("eef87a73cb2575d3", hex(StrongHash.of(word, 0, word.length)));
        ByteBuffer direct = ByteBuffer.allocateDirect(16).put(2, word);
        assertEquals("eef87a73cb2575d3", hex(StrongHash.of(direct, 2, word.length)));
        assertEquals("93d76fe148c689ba", hex(StrongHash.of(new byte[4096], 0, 4096)));
        assertEquals("93d76fe148c689ba", hex(StrongHash.of(ByteBuffer.allocateDirect(4096), 0, 4096)));
    }

    /**
     * libxxhash and zero-allocation-hashing must agree on every length and alignment, or a
     * signature would depend on which one ran. XXH3 switches code paths at 16, 128 and 240 bytes
     * and per 1 KiB stripe block, so every length up to 2 KiB and a spread beyond are tried.
     */
    @Test
    void libxxhashAndJavaComputeTheSameFunction() {
        NativeXxh3 nativeHash = NativeXxh3.load()
                .orElseThrow(() -> new AssertionError("libxxhash not found (apt-get install libxxhash0)"));
        LongHashFunction java = LongHashFunction.xx3();
        byte[] data = new byte[3 * BlockSize.MAX];
        new Random(42).nextBytes(data);
        ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(0, data);
        ByteBuffer readOnlySlice = direct.slice(5, data.length - 5).asReadOnlyBuffer();
        for (int length = 0; length <= 2048; length++) {
            int offset = length % 61;
            assertEquals(java.hashBytes(data, offset, length), nativeHash.hash(direct, offset, length), "length " + length);
        }
        Random lengths = new Random(7);
        for (int i = 0; i < 500; i++) {
            int length = lengths.nextInt(BlockSize.MAX + 1);
            int offset = lengths.nextInt(data.length - 5 - length);
            assertEquals(java.hashBytes(data, offset + 5, length), nativeHash.hash(readOnlySlice, offset, length),
                    "length " + length + " at " + offset);
            assertEquals(java.hashBytes(data, offset, length), StrongHash.of(direct, offset, length));
        }
        assertTrue(StrongHash.implementation().startsWith("libxxhash"), StrongHash.implementation());
    }

    @Test
    void aRangeOutsideTheBufferIsRefusedBeforeAnyNativeRead() {
        ByteBuffer direct = ByteBuffer.allocateDirect(4096);
        assertThrows(IndexOutOfBoundsException.class, () -> StrongHash.of(direct, 4000, 97));
        assertThrows(IndexOutOfBoundsException.class, () -> StrongHash.of(direct, -1, 10));
    }

    /**
     * A mapped image that shrank under the scan must fail as a Java error, not kill the JVM with a
     * SIGBUS inside libxxhash. The block is larger than a page, so the zero check that precedes the
     * hash in a scan would have read only its first page.
     */
    @Test
    void aMappingWhoseFileShrankFailsInJavaNotInLibxxhash(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("image.raw");
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        Files.write(file, data);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MappedByteBuffer mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, data.length);
            assertEquals(StrongHash.of(data, 0, 65536), StrongHash.of(mapping, 0, 65536));
            channel.truncate(4096);
            assertEquals(StrongHash.of(data, 0, 4096), StrongHash.of(mapping, 0, 4096), "the page still in the file");
            // The JVM delivers a fault in Java code asynchronously, at its next safepoint check.
            InternalError fault = assertThrows(InternalError.class, () -> {
                StrongHash.of(mapping, 0, 65536);
                Thread.sleep(10);
            });
            assertTrue(fault.getMessage().contains("fault"), fault.getMessage());
        }
    }

    @Test
    void zeroBlockHashIsTheHashOfZeros() {
        assertEquals(StrongHash.of(new byte[8192], 0, 8192), ZeroBlocks.hash(8192));
    }

    private static String hex(long h) {
        return String.format("%016x", h);
    }
}
