package dev.standin.delta;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The test vectors of docs/delta-format.md, "Image digest". */
class ImageDigestTest {

    private static String digest(byte[] image) {
        return ImageDigest.hex(SignatureBuilder.of(ByteBuffer.wrap(image), 4096).digest());
    }

    @Test
    void documentedVectors() {
        assertEquals("40aaea6168b9671f5531f9edd595332447edcd3c0b92eab4328bfc85063b4c31", digest(new byte[0]));
        assertEquals("eae4808d5fface4f71cec566c2faa2eb95917d005a9335e0a1531693a60f0d05",
                digest("standin".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("dff6e5c60483f023ff1f3b5332fe0861082159ea2c061bb3afc09108e44f9928", digest(new byte[8192]));
    }
}
