package dev.standin.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * The resident agent's wire (docs/agent.md), without a socket: frames and run requests round-trip,
 * and every truncation, bit flip and out-of-range field is refused with the wire's error.
 */
class AgentWireProperties {

    private static byte[] frame(int type, byte[] payload) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AgentWire.write(out, type, payload);
        return out.toByteArray();
    }

    @Property
    void framesRoundTrip(@ForAll @IntRange(min = 0, max = 255) int type, @ForAll @Size(max = 5000) byte[] payload)
            throws IOException {
        ByteArrayInputStream in = new ByteArrayInputStream(frame(type, payload));
        AgentWire.Frame read = AgentWire.read(in);
        assertEquals(type, read.type());
        assertArrayEquals(payload, read.payload());
        assertNull(AgentWire.read(in), "a clean end between frames");
    }

    @Property
    void aTruncatedFrameIsRefused(@ForAll @IntRange(min = 0, max = 255) int type, @ForAll @Size(max = 5000) byte[] payload,
            @ForAll @IntRange(min = 1) int cut) throws IOException {
        byte[] bytes = frame(type, payload);
        byte[] truncated = Arrays.copyOf(bytes, 1 + Math.floorMod(cut, bytes.length - 1));
        assertThrows(AgentWire.AgentWireException.class, () -> AgentWire.read(new ByteArrayInputStream(truncated)));
    }

    @Property
    void aFlippedBitIsRefused(@ForAll @IntRange(min = 0, max = 255) int type, @ForAll @Size(max = 5000) byte[] payload,
            @ForAll @IntRange(min = 0) int where) throws IOException {
        byte[] bytes = frame(type, payload);
        int bit = Math.floorMod(where, bytes.length * 8);
        bytes[bit / 8] ^= (byte) (1 << (bit % 8));
        assertThrows(AgentWire.AgentWireException.class, () -> AgentWire.read(new ByteArrayInputStream(bytes)));
    }

    @Property
    void aFrameClaimingMoreThanTheLimitIsRefusedBeforeItIsRead(@ForAll @IntRange(min = AgentWire.MAX_PAYLOAD + 1) int length)
            throws IOException {
        byte[] bytes = frame(AgentWire.STDOUT, new byte[0]);
        ByteBuffer.wrap(bytes).putInt(8, length);
        assertThrows(AgentWire.AgentWireException.class, () -> AgentWire.read(new ByteArrayInputStream(bytes)));
    }

    @Property
    void runRequestsRoundTrip(@ForAll("requests") RunRequest request) throws IOException {
        assertEquals(request, RunRequest.decode(request.encode()));
    }

    @Property
    void aTruncatedRunRequestIsRefused(@ForAll("requests") RunRequest request, @ForAll @IntRange(min = 0) int cut) {
        byte[] payload = request.encode();
        byte[] truncated = Arrays.copyOf(payload, Math.floorMod(cut, payload.length));
        assertThrows(AgentWire.AgentWireException.class, () -> RunRequest.decode(truncated));
    }

    @Provide
    Arbitrary<RunRequest> requests() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(40);
        Arbitrary<Map<String, String>> environment = Arbitraries.subsetOf(RunRequest.FORWARDED).flatMap(names -> {
            Arbitrary<List<String>> values = text.list().ofSize(names.size());
            return values.map(v -> {
                Map<String, String> map = new LinkedHashMap<>();
                int i = 0;
                for (String name : names) {
                    map.put(name, v.get(i++));
                }
                return map;
            });
        });
        return Combinators.combine(text, Arbitraries.strings().alpha().ofMaxLength(20).map(d -> Path.of("/" + d)),
                Arbitraries.of(true, false), Arbitraries.of(true, false), Arbitraries.longs().between(0, Long.MAX_VALUE),
                text, environment, text.list().ofMaxSize(12))
                .as(RunRequest::new);
    }
}
