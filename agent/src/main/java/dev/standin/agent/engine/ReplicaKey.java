package dev.standin.agent.engine;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Names a replica for a snapshot hook's change tracking, so that two replicas of one disk track
 * apart: 16 hex digits of the SHA-256 of the replica's absolute path, or of {@code host:path}.
 */
final class ReplicaKey {

    private ReplicaKey() {}

    static String of(String replica) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(replica.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
