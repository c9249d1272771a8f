package dev.standin.delta.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.standin.delta.DeltaOp;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The example stream of docs/delta-format.md, "Example", byte for byte. */
class DocumentedExampleTest {

    static final String DOCUMENTED = ""
            + "535444454c54410a000300000000100000000000000030050000000000002000"
            + "004319aa5a40df164757bc4c7f11a7e3615c4a14bc3b57e42d017f09733420a5"
            + "9caa500e53444652010000000000000000000000000000000000001200000012"
            + "563b91860180200380200280208020040568656c6c6f53444652020000000000"
            + "0001000000000000300500000030000000300e57fd6400000000000030050000"
            + "000000000004ace32826ae38647281a4d1abb8bbbff07d35edd3bbb68117e538"
            + "ba74154a8c2c";

    @Test
    void theWriterProducesTheDocumentedBytes() throws Exception {
        byte[] basis = new byte[8192];
        for (int i = 0; i < basis.length; i++) {
            basis[i] = (byte) (i < 4096 ? i : 7 * i);
        }
        byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
        byte[] target = new byte[12293];
        System.arraycopy(basis, 0, target, 0, 4096);
        System.arraycopy(basis, 4096, target, 8192, 4096);
        System.arraycopy(hello, 0, target, 12288, hello.length);
        Signatures basisSignatures = SignatureBuilder.of(ByteBuffer.wrap(basis), 4096);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DeltaEncoder encoder = new DeltaEncoder(out,
                new DeltaHeader(4096, target.length, basis.length, basisSignatures.digest()), Compression.NONE);
        encoder.add(new DeltaOp.Same(0, 4096));
        encoder.add(new DeltaOp.Zero(4096, 4096));
        encoder.add(new DeltaOp.Copy(8192, 4096, 4096));
        encoder.add(new DeltaOp.Literal(12288, ByteBuffer.wrap(hello)));
        encoder.finish(SignatureBuilder.of(ByteBuffer.wrap(target), 4096).digest());
        assertEquals(DOCUMENTED, HexFormat.of().formatHex(out.toByteArray()));
    }
}
