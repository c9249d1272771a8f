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
        assertEquals("d05ed68bb0b51bbad8faa84e547c8dbb571a25d8a823954a2e422ae5a3ac4ea6", digest(new byte[0]));
        assertEquals("c3af131e79a74e2834acceeeb99fbbaedc9054153ad5d64065d9ee224c72a17f",
                digest("standin".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("9a5fdca7e59be1d640685cb87820453831ab8ac1a51b267e6541c078f1ae5e4d", digest(new byte[8192]));
    }
}
