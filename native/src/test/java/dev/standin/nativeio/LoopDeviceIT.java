package dev.standin.nativeio;

import static dev.standin.nativeio.TestFiles.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Block device calls on a real loop device, cross-checked with blockdev(8). */
@Tag("root")
class LoopDeviceIT {

    private static final long IMAGE_BYTES = 64L * MIB;

    private final NativeIo io = NativeIo.load();

    @TempDir
    Path dir;

    @Test
    void sizeAndSectorSizesMatchBlockdev() throws Exception {
        String blockdev = Commands.require("blockdev", "util-linux");
        try (LoopDevice loop = LoopDevice.create(dir.resolve("disk.img"), IMAGE_BYTES);
                NativeFile device = io.open(loop.device(), false)) {
            String dev = loop.device().toString();
            assertTrue(device.isBlockDevice());
            assertEquals(Long.parseLong(Commands.check(blockdev, "--getsize64", dev).strip()), device.size());
            assertEquals(IMAGE_BYTES, device.size());
            assertEquals(Integer.parseInt(Commands.check(blockdev, "--getss", dev).strip()), device.logicalSectorSize());
            assertEquals(Integer.parseInt(Commands.check(blockdev, "--getpbsz", dev).strip()), device.physicalSectorSize());
            // a block device has no holes to report: the whole window is one extent
            assertEquals(List.of(new Extent(0, IMAGE_BYTES)), device.dataExtents(0, Long.MAX_VALUE));
            assertEquals(List.of(new Extent(MIB, MIB)), device.dataExtents(MIB, 2L * MIB));
            try (NativeFile image = io.open(loop.image(), false)) {
                assertFalse(image.isBlockDevice());
                assertEquals(device.size(), image.size());
            }
        }
    }

    @Test
    void zeroOutMakesTheRangeReadZeros() throws Exception {
        try (LoopDevice loop = LoopDevice.create(dir.resolve("disk.img"), IMAGE_BYTES)) {
            byte[] pattern = TestFiles.randomBytes(3 * MIB, 11);
            TestFiles.write(loop.device(), 0, pattern);
            try (NativeFile device = io.open(loop.device(), true)) {
                device.zeroOut(MIB, MIB);
                device.fdatasync();
            }
            byte[] after = TestFiles.read(loop.device(), 0, 3 * MIB);
            assertArrayEquals(slice(pattern, 0, MIB), slice(after, 0, MIB), "before the range is untouched");
            assertTrue(TestFiles.allZero(slice(after, MIB, MIB)), "the zeroed range reads zeros");
            assertArrayEquals(slice(pattern, 2 * MIB, MIB), slice(after, 2 * MIB, MIB), "after the range is untouched");
        }
    }

    @Test
    void misalignedZeroOutIsEinval() throws Exception {
        try (LoopDevice loop = LoopDevice.create(dir.resolve("disk.img"), IMAGE_BYTES);
                NativeFile device = io.open(loop.device(), true)) {
            NativeException e = assertThrows(NativeException.class, () -> device.zeroOut(1, 4096));
            assertEquals("EINVAL", e.errnoName());
            assertFalse(e instanceof UnsupportedOperationIOException);
            assertTrue(e.getMessage().startsWith("BLKZEROOUT [1+4096] " + loop.device() + ": Invalid argument (EINVAL)"),
                    e.getMessage());
        }
    }

    @Test
    void discardReleasesBackingBlocksOrSaysUnsupported() throws Exception {
        try (LoopDevice loop = LoopDevice.create(dir.resolve("disk.img"), IMAGE_BYTES)) {
            TestFiles.write(loop.device(), 0, TestFiles.randomBytes(8 * MIB, 12));
            try (NativeFile device = io.open(loop.device(), true); NativeFile image = io.open(loop.image(), false)) {
                device.fdatasync();
                long allocatedBefore = image.allocatedBytes();
                assertTrue(allocatedBefore >= 8L * MIB, "image allocated " + allocatedBefore);
                try {
                    device.discard(0, 4L * MIB);
                } catch (UnsupportedOperationIOException e) {
                    // acceptable answer from a loop device whose backing filesystem cannot punch holes
                    assertTrue(e.errnoName().equals("EOPNOTSUPP") || e.errnoName().equals("ENOTTY"), e.getMessage());
                    return;
                }
                device.fdatasync();
                // loop implements discard by punching a hole in the backing file
                long allocatedAfter = image.allocatedBytes();
                assertTrue(allocatedAfter <= allocatedBefore - 4L * MIB,
                        "discard should free the backing blocks: " + allocatedBefore + " -> " + allocatedAfter);
            }
        }
    }

    private static byte[] slice(byte[] bytes, int offset, int length) {
        byte[] out = new byte[length];
        System.arraycopy(bytes, offset, out, 0, length);
        return out;
    }
}
