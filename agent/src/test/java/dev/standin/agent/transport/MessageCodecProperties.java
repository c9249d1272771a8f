package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.delta.BlockSize;
import dev.standin.delta.ImageDigest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * The protocol's message codec (docs/protocol.md), without I/O: every message round-trips, and
 * every truncation, bit flip and out-of-range field is refused with the protocol's error, never
 * read as some other message.
 */
class MessageCodecProperties {

    @Property
    void everyMessageRoundTrips(@ForAll("messages") Message message) throws IOException {
        byte[] frame = encode(message);
        Message read = decode(frame).orElseThrow();
        assertEquals(message.getClass(), read.getClass());
        assertArrayEquals(frame, encode(read), "the message read back encodes to the same frame");
    }

    @Property
    void aTruncatedFrameIsRefused(@ForAll("messages") Message message, @ForAll @IntRange(min = 1) int cut)
            throws IOException {
        byte[] frame = encode(message);
        int keep = 1 + Math.floorMod(cut, frame.length - 1); // 1 .. length-1 bytes of the frame
        byte[] truncated = java.util.Arrays.copyOf(frame, keep);
        IOException refused = assertThrows(IOException.class, () -> decode(truncated));
        assertTrue(refused instanceof ProtocolException || refused instanceof EOFException, refused.toString());
    }

    @Property
    void aFlippedBitIsRefused(@ForAll("messages") Message message, @ForAll @IntRange(min = 0) int where)
            throws IOException {
        byte[] frame = encode(message);
        int bit = Math.floorMod(where, frame.length * 8);
        frame[bit / 8] ^= (byte) (1 << (bit % 8));
        // A flip in the length field may also make the frame claim more bytes than it has.
        IOException refused = assertThrows(IOException.class, () -> decode(frame));
        assertTrue(refused instanceof ProtocolException || refused instanceof EOFException, refused.toString());
    }

    @Property
    void anOpenWithAnImpossibleFieldIsRefused(@ForAll("impossibleOpens") Message.Open open) throws IOException {
        byte[] frame = encode(open);
        ProtocolException refused = assertThrows(ProtocolException.class, () -> decode(frame));
        assertTrue(refused.getMessage().startsWith("Open:"), refused.getMessage());
    }

    @Property
    void aSignatureChunkOutOfRangeIsRefused(@ForAll @IntRange(min = Integer.MIN_VALUE, max = -1) int first)
            throws IOException {
        byte[] frame = encode(new Message.SignatureChunk(first, new int[] {1}, new long[] {2}));
        assertThrows(ProtocolException.class, () -> decode(frame));
    }

    @Provide
    Arbitrary<Message> messages() {
        return Arbitraries.oneOf(hello(), open(), ready(), begin(), chunk(), signaturesBegin(), signaturesEnd(),
                committed(), failure(), verify(), scrubResult(), keepAlive(), recordVmPoint(), vmPointRecorded(),
                checkBoot(), bootReport(), startVm());
    }

    @Provide
    Arbitrary<Message.Open> impossibleOpens() {
        Arbitrary<Long> negative = Arbitraries.longs().lessOrEqual(-1);
        Arbitrary<Integer> badBlock = Arbitraries.integers().filter(b -> b != 0 && !BlockSize.isValid(b));
        Arbitrary<Integer> badKeep = Arbitraries.integers().lessOrEqual(-2);
        return Arbitraries.oneOf(
                negative.map(l -> new Message.Open("r.img", l, 0, 0, false, false, -1, Optional.empty())),
                Arbitraries.longs().between(1, 1L << 40).map(l -> new Message.Open("r.img", l, l + 1, 0, false, false,
                        -1, Optional.empty())),
                badBlock.map(b -> new Message.Open("r.img", 1 << 20, 0, b, false, false, -1, Optional.empty())),
                badKeep.map(k -> new Message.Open("r.img", 1 << 20, 0, 0, false, false, k, Optional.empty())));
    }

    private static Arbitrary<String> text() {
        return Arbitraries.strings().ofMaxLength(64);
    }

    private static Arbitrary<Optional<byte[]>> digest() {
        return Arbitraries.bytes().array(byte[].class).ofSize(ImageDigest.LENGTH).optional();
    }

    private static Arbitrary<Integer> blockSize() {
        return Arbitraries.integers().between(12, 20).map(shift -> 1 << shift);
    }

    private static Arbitrary<Message> hello() {
        return Combinators.combine(Arbitraries.integers().between(0, 10), Arbitraries.integers().between(0, 10),
                text(), text().list().ofMaxSize(8))
                .as((min, max, software, caps) -> new Message.Hello(min, max, software, List.copyOf(caps)));
    }

    private static Arbitrary<Message> open() {
        Arbitrary<Long> length = Arbitraries.longs().between(0, 1L << 62);
        return Combinators.combine(text(), length, Arbitraries.doubles().between(0, 1), blockSize().injectNull(0.2),
                Arbitraries.of(true, false), Arbitraries.of(true, false), Arbitraries.integers().between(-1, 1000),
                digest())
                .as((path, l, share, block, dry, scrub, keep, generation) -> new Message.Open(path, l,
                        Math.min(l, (long) (l * share)), block == null ? 0 : block, dry, scrub, keep, generation));
    }

    private static Arbitrary<Message> ready() {
        return Combinators.combine(Arbitraries.of(Message.ReplicaKind.values()), Arbitraries.longs().greaterOrEqual(0),
                blockSize(), digest(), Arbitraries.of("none", "replayed", "discarded", "held"), Arbitraries.longs(),
                Arbitraries.longs().greaterOrEqual(0))
                .as(Message.Ready::new);
    }

    private static Arbitrary<Message> begin() {
        return Arbitraries.of(true, false).map(Message.Begin::new);
    }

    private static Arbitrary<Message> chunk() {
        return Arbitraries.integers().between(0, 1000).flatMap(count -> Combinators.combine(
                Arbitraries.integers().greaterOrEqual(0),
                Arbitraries.integers().array(int[].class).ofSize(count),
                Arbitraries.longs().array(long[].class).ofSize(count))
                .as(Message.SignatureChunk::new));
    }

    private static Arbitrary<Message> signaturesBegin() {
        return Combinators.combine(Arbitraries.longs().greaterOrEqual(0), blockSize(),
                Arbitraries.of("none", "cache", "read", "scrub", "partial", "resume"), Arbitraries.longs().greaterOrEqual(0))
                .as(Message.SignaturesBegin::new);
    }

    private static Arbitrary<Message> signaturesEnd() {
        return Arbitraries.bytes().array(byte[].class).ofSize(ImageDigest.LENGTH).map(Message.SignaturesEnd::new);
    }

    private static Arbitrary<Message> committed() {
        return Combinators.combine(Arbitraries.bytes().array(byte[].class).ofSize(ImageDigest.LENGTH),
                Arbitraries.longs().greaterOrEqual(0)).as(Message.Committed::new);
    }

    private static Arbitrary<Message> keepAlive() {
        return Arbitraries.longs().map(Message.KeepAlive::new);
    }

    private static Arbitrary<Message> failure() {
        return Combinators.combine(Arbitraries.integers().between(0, 255), Arbitraries.of(true, false), text())
                .as(Message.Failure::new);
    }

    private static Arbitrary<Message> verify() {
        return text().map(Message.Verify::new);
    }

    private static Arbitrary<Message> recordVmPoint() {
        return Combinators.combine(text(), Arbitraries.bytes().array(byte[].class).ofMaxSize(300))
                .as(Message.RecordVmPoint::new);
    }

    private static Arbitrary<Message> vmPointRecorded() {
        return Arbitraries.longs().greaterOrEqual(1).map(Message.VmPointRecorded::new);
    }

    private static Arbitrary<Message> checkBoot() {
        return Combinators.combine(text(), text(), Arbitraries.integers().between(1, 86_400)).as(Message.CheckBoot::new);
    }

    private static Arbitrary<Message> bootReport() {
        return text().map(Message.BootReport::new);
    }

    private static Arbitrary<Message> startVm() {
        return Combinators.combine(text(), text(), Arbitraries.longs().greaterOrEqual(1),
                Arbitraries.integers().between(1, 86_400)).as(Message.StartVm::new);
    }

    @Property
    void aStartWithoutAPointOrWithAnImpossibleTimeoutIsRefused(@ForAll @IntRange(min = -5, max = 0) int point,
            @ForAll @IntRange(min = 86_401) int timeout) throws IOException {
        assertThrows(ProtocolException.class, () -> decode(encode(new Message.StartVm("web.img", "web", point, 60))));
        assertThrows(ProtocolException.class, () -> decode(encode(new Message.StartVm("web.img", "web", 1, timeout))));
        assertThrows(ProtocolException.class, () -> decode(encode(new Message.CheckBoot("web.img", "web", -timeout))));
    }

    @Property
    void aVmPointIdBelowOneIsRefused(@ForAll @IntRange(min = Integer.MIN_VALUE, max = 0) int id) throws IOException {
        byte[] frame = encode(new Message.VmPointRecorded(id));
        assertThrows(ProtocolException.class, () -> decode(frame));
    }

    private static Arbitrary<Message> scrubResult() {
        return text().map(Message.ScrubResult::new);
    }

    private static byte[] encode(Message message) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new MessageChannel(InputStream.nullInputStream(), out).send(message);
        return out.toByteArray();
    }

    private static Optional<Message> decode(byte[] frame) throws IOException {
        return new MessageChannel(new ByteArrayInputStream(frame), OutputStream.nullOutputStream()).receiveAny();
    }
}
