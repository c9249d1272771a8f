package dev.standin.delta;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The digest that names an image's content: SHA-256 over a header (a version tag, the length and
 * the block size) followed by the strong hash (XXH3-64) of every block in order, big-endian.
 *
 * <p>Both ends can compute it from block hashes they already have, so checking that the replica
 * equals the source costs no extra read: the sender hashes every block it reads, the receiver every
 * block it writes and keeps the stored hashes of blocks it did not touch.
 */
public final class ImageDigest {

    public static final int LENGTH = 32;
    /**
     * What the digest is called wherever it is shown: it is not the SHA-256 of the image's bytes
     * ({@code sha256sum} gives another value), so no output may call it "sha256".
     */
    public static final String NAME = "standin-image-digest-v3";
    private static final byte[] TAG = "standin-image-digest-v3\n".getBytes(StandardCharsets.US_ASCII);

    private final MessageDigest sha;
    private final ByteBuffer pending = ByteBuffer.allocate(8 * 512);
    private final long expectedLeaves;
    private long leaves;

    public ImageDigest(long length, int blockSize) {
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        expectedLeaves = BlockSize.blockCount(length, blockSize);
        sha.update(TAG);
        sha.update(ByteBuffer.allocate(12).putLong(length).putInt(blockSize).array());
    }

    public void addLeaf(long leaf) {
        if (leaves == expectedLeaves) {
            throw new IllegalStateException("more leaves than the " + expectedLeaves + " blocks of the image");
        }
        if (pending.remaining() < 8) {
            drain();
        }
        pending.putLong(leaf);
        leaves++;
    }

    public byte[] finish() {
        if (leaves != expectedLeaves) {
            throw new IllegalStateException("digest has " + leaves + " of " + expectedLeaves + " leaves");
        }
        drain();
        return sha.digest();
    }

    private void drain() {
        pending.flip();
        sha.update(pending);
        pending.clear();
    }

    public static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }
}
