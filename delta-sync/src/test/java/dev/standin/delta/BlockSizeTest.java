package dev.standin.delta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BlockSizeTest {

    private static final long GIB = 1L << 30;

    @Test
    void keepsImagesAtOrUnderAMillionBlocks() {
        assertEquals(4096, BlockSize.forImageSize(0));
        assertEquals(4096, BlockSize.forImageSize(4 * GIB));
        assertEquals(8192, BlockSize.forImageSize(4 * GIB + 1));
        assertEquals(64 * 1024, BlockSize.forImageSize(64 * GIB));
        assertEquals(1024 * 1024, BlockSize.forImageSize(1024 * GIB));
        assertEquals(1024 * 1024, BlockSize.forImageSize(64 * 1024 * GIB));
    }

    @Test
    void refusesBlockSizesThatAreNotPowersOfTwoInRange() {
        assertThrows(IllegalArgumentException.class, () -> BlockSize.validate(3000));
        assertThrows(IllegalArgumentException.class, () -> BlockSize.validate(2048));
        assertThrows(IllegalArgumentException.class, () -> BlockSize.validate(2 * 1024 * 1024));
        assertEquals(65536, BlockSize.validate(65536));
    }
}
