package dev.standin.agent.pairing;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Optional;

/**
 * One public host key as ssh-keyscan and known_hosts write it: {@code TYPE BASE64}.
 *
 * @param type e.g. {@code ssh-ed25519}
 * @param blob the key's base64 text
 */
record HostKey(String type, String blob) {

    HostKey {
        if (type.isBlank() || blob.isBlank()) {
            throw new IllegalArgumentException("empty host key");
        }
        Base64.getDecoder().decode(blob); // refuses what is not base64
    }

    /** OpenSSH's fingerprint, as {@code ssh-keygen -lf} and {@code ssh} print it: {@code SHA256:...}. */
    String fingerprint() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Base64.getDecoder().decode(blob));
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }

    /** The key of a known_hosts or ssh-keyscan line {@code NAMES TYPE BASE64 [COMMENT]}; empty for a comment or marker line. */
    static Optional<Entry> parseLine(String line) {
        String trimmed = line.strip();
        if (trimmed.isEmpty() || trimmed.startsWith("#") || trimmed.startsWith("@")) {
            return Optional.empty();
        }
        String[] fields = trimmed.split("\\s+");
        if (fields.length < 3) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Entry(fields[0], new HostKey(fields[1], fields[2])));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** A known_hosts line's host names (comma-separated; hashed names are never ours) and key. */
    record Entry(String names, HostKey key) {

        boolean names(String name) {
            for (String n : names.split(",")) {
                if (n.equals(name)) {
                    return true;
                }
            }
            return false;
        }
    }

    @Override
    public String toString() {
        return type + " " + fingerprint();
    }
}
