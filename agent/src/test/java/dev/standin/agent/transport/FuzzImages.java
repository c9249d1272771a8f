package dev.standin.agent.transport;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/**
 * The two images the captured sessions of {@link ProtocolFuzzIT} move between, made from fixed
 * seeds so that a replay can rebuild the receiver's state without storing images: a 128 KiB
 * base (random data, a text-like run, a zero run) and a target that changes six blocks of it,
 * moves one, zeroes one and grows by a block.
 */
final class FuzzImages {

    static final int BLOCK = 4096;
    static final int BASE_LENGTH = 32 * BLOCK;
    static final int TARGET_LENGTH = 33 * BLOCK;

    private FuzzImages() {}

    static byte[] base() {
        byte[] b = new byte[BASE_LENGTH];
        SplittableRandom random = new SplittableRandom(20261204);
        for (int i = 0; i < 16 * BLOCK; i++) {
            b[i] = (byte) random.nextInt(256);
        }
        byte[] text = "2026-12-04T01:00:00 db01 checkpoint complete\n".getBytes();
        for (int i = 16 * BLOCK; i < 24 * BLOCK; i++) {
            b[i] = text[i % text.length];
        }
        return b; // blocks 24-31 stay zero
    }

    static byte[] target() {
        byte[] t = java.util.Arrays.copyOf(base(), TARGET_LENGTH);
        SplittableRandom random = new SplittableRandom(4);
        for (int block : new int[] {1, 5, 9, 17, 25, 32}) {
            for (int i = 0; i < BLOCK; i++) {
                t[block * BLOCK + i] = (byte) random.nextInt(256);
            }
        }
        System.arraycopy(base(), 2 * BLOCK, t, 12 * BLOCK + 512, BLOCK); // data that moved by a sector
        java.util.Arrays.fill(t, 3 * BLOCK, 4 * BLOCK, (byte) 0);
        return t;
    }

    static ByteBuffer wrap(byte[] b) {
        return ByteBuffer.wrap(b);
    }
}
