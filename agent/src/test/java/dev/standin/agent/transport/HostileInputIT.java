package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import dev.standin.delta.BlockSize;
import dev.standin.delta.DeltaOp;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaEncoder;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.ExitStatus;
import dev.standin.nativeio.NativeIo;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code standin serve}'s receiver (in this JVM) against what a hostile or broken sender, or a
 * link planted in the root, can present: nothing is written through a link, every malformed
 * input is exit 5 with a bounded one-line reason that reaches the sender, and the receiving side
 * keeps one log line of every refusal.
 */
class HostileInputIT {

    @TempDir
    Path dir;

    private final List<String> logged = Collections.synchronizedList(new ArrayList<>());

    /** What the receiver answered to a whole sender stream, and its exit status. */
    private record Served(int exit, List<Message> replies) {
        Message.Failure failure() {
            return assertInstanceOf(Message.Failure.class, replies.get(replies.size() - 1));
        }
    }

    private Served serve(Path root, byte[] senderStream) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ReplicaServer server = new ReplicaServer(new ReplicaRoot(root), dir.resolve("state"), 1, NativeIo.tryLoad(),
                logged::add);
        int exit = server.serve(new ByteArrayInputStream(senderStream), out);
        MessageChannel replies = new MessageChannel(new ByteArrayInputStream(out.toByteArray()),
                java.io.OutputStream.nullOutputStream());
        replies.expectPreamble();
        List<Message> messages = new ArrayList<>();
        for (Optional<Message> m; (m = replies.receiveOrEnd()).isPresent(); ) {
            messages.add(m.get());
        }
        return new Served(exit, messages);
    }

    /** A sender's stream: preamble, Hello, then {@code messages}, then {@code tail} raw bytes. */
    private static byte[] stream(List<Message> messages, byte[] tail) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        MessageChannel channel = new MessageChannel(java.io.InputStream.nullInputStream(), bytes);
        channel.sendPreamble();
        channel.send(new Message.Hello(Protocol.VERSION, Protocol.VERSION, "test",
                List.of(Protocol.SENDER_SIGNATURES)));
        for (Message m : messages) {
            channel.send(m);
        }
        bytes.write(tail);
        return bytes.toByteArray();
    }

    /** A first copy of {@code content} to {@code name}: Open, Begin, the delta. */
    private static byte[] firstCopy(String name, byte[] content) throws IOException {
        int blockSize = BlockSize.forImageSize(content.length);
        return stream(List.of(open(name, content.length, 0), new Message.Begin(false)),
                delta(content, blockSize, blockSize));
    }

    private static Message.Open open(String name, long length, int blockSize) {
        return new Message.Open(name, length, length, blockSize, false, false, -1, Optional.empty());
    }

    /** A first copy's delta stream whose header says {@code headerBlockSize}. */
    private static byte[] delta(byte[] content, int blockSize, int headerBlockSize) throws IOException {
        Signatures target = new Signatures(content.length, headerBlockSize);
        new SignatureBuilder(target).add(0, ByteBuffer.wrap(content), content.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DeltaEncoder encoder = new DeltaEncoder(out, new DeltaHeader(headerBlockSize, content.length, 0,
                DeltaHeader.NO_BASIS), Compression.NONE);
        encoder.add(new DeltaOp.Literal(0, ByteBuffer.wrap(content)));
        encoder.finish(target.digest());
        return out.toByteArray();
    }

    private static byte[] content(int seed) {
        byte[] b = new byte[64 << 10];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    private void assertRefused(Served s, ExitStatus status, String reason) {
        assertEquals(status.code(), s.exit(), s.replies().toString());
        Message.Failure f = s.failure();
        assertEquals(status.code(), f.exitStatus(), f.message());
        assertTrue(f.message().contains(reason), f.message());
        assertFalse(f.message().contains("\n"), f.message());
        assertFalse(f.message().contains("internal error"), f.message());
        assertTrue(logged.stream().anyMatch(l -> l.contains("(exit " + status.code() + ")") && l.contains(reason)),
                logged.toString());
    }

    @Test
    void noSideFileIsWrittenThroughALinkPlantedInTheRoot() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Path precious = Files.writeString(outside.resolve("file"), "precious");
        for (String planted : List.of(".vm.img.standin-sigs.tmp", ".vm.img.standin-sigs", ".vm.img.standin-points",
                ".vm.img.standin-resume", ".vm.img.standin-lock")) {
            Path link = Files.createSymbolicLink(root.resolve(planted), planted.endsWith("points") ? outside : precious);
            Served s = serve(root, firstCopy("vm.img", content(1)));
            assertRefused(s, ExitStatus.DESTINATION, "is a symbolic link");
            assertEquals("precious", Files.readString(precious), planted);
            try (var files = Files.list(outside)) {
                assertEquals(1, files.count(), planted);
            }
            assertTrue(Files.notExists(root.resolve("vm.img")), planted);
            Files.delete(link);
        }
        // A link inside the real points directory, beside an existing replica with points.
        assertEquals(0, serve(root, firstCopy("vm.img", content(2))).exit());
        Path points = root.resolve(".vm.img.standin-points");
        assertTrue(Files.isDirectory(points));
        Files.createSymbolicLink(points.resolve("index.tmp"), precious);
        assertRefused(serve(root, firstCopy("vm.img", content(3))), ExitStatus.DESTINATION, "is a symbolic link");
        assertEquals("precious", Files.readString(precious));
    }

    @ParameterizedTest
    @ValueSource(strings = {".vm.img.standin-points", "a/.vm.img.standin-sigs", "new\nline.img", "evil\u202egmi.exe",
        "-rf.img", "tab\there.img", "zero\u200bwidth.img"})
    void reservedAndUnprintableNamesAreRefused(String name) throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        Files.createDirectories(root.resolve("a"));
        Served s = serve(root, firstCopy(name, content(4)));
        assertRefused(s, ExitStatus.PROTOCOL, "refused");
        assertFalse(s.failure().message().contains("\n"));
        try (var files = Files.walk(root)) {
            assertEquals(List.of(root, root.resolve("a")), files.sorted().toList(), "nothing was created");
        }
    }

    /** The real command: the refusal is one line on serve's stderr, naming the peer from SSH_CLIENT. */
    @Test
    void serveKeepsOneLineOfEveryRefusalNamingThePeer() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        java.io.StringWriter err = new java.io.StringWriter();
        ByteArrayOutputStream replies = new ByteArrayOutputStream();
        dev.standin.agent.daemon.Invocation invocation = new dev.standin.agent.daemon.Invocation(
                new ByteArrayInputStream(firstCopy("evil\nname.img", content(10))), replies,
                new java.io.PrintWriter(java.io.Writer.nullWriter()), new java.io.PrintWriter(err, true),
                Optional.of(dir), java.util.Map.of("SSH_CLIENT", "203.0.113.9 50022 22"), false, Optional.empty(),
                Optional.empty());
        int exit = dev.standin.agent.cli.Main.run(invocation, "serve", "--root", root.toString(), "--state-dir",
                dir.resolve("state").toString());
        assertEquals(ExitStatus.PROTOCOL.code(), exit);
        List<String> lines = err.toString().lines().toList();
        assertEquals(1, lines.size(), err.toString());
        assertTrue(lines.get(0).startsWith("standin serve: 203.0.113.9: refused replica 'evil\\u000aname.img': path "),
                lines.get(0));
        assertTrue(lines.get(0).endsWith("(exit 5)"), lines.get(0));
    }

    @Test
    void namesTooLongForTheFileSystemOrTheSideFilesAreRefused() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        assertRefused(serve(root, firstCopy("x".repeat(256), content(5))), ExitStatus.PROTOCOL, "names hold at most 255");
        assertRefused(serve(root, firstCopy("y".repeat(240), content(5))), ExitStatus.PROTOCOL,
                "the files standin keeps beside it need it to be at most");
        assertEquals(0, serve(root, firstCopy("z".repeat(200), content(5))).exit());
    }

    @Test
    void invalidUtf8InANameIsRefused() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        byte[] good = firstCopy("vm.img", content(6));
        byte[] bad = rewriteOpenName(good, new byte[] {'v', (byte) 0xc3, '(', '.', 'i', 'm', 'g'});
        assertRefused(serve(root, bad), ExitStatus.PROTOCOL, "not valid UTF-8");
    }

    @Test
    void aHugePathStillGetsItsBoundedReasonBackToTheSender() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        Served s = serve(root, firstCopy("../" + "a".repeat(4090), content(7)));
        assertRefused(s, ExitStatus.PROTOCOL, "refused");
        assertTrue(s.failure().message().length() <= WireText.MAX_REASON + 40, s.failure().message().length() + "");
        assertTrue(s.failure().message().contains("more chars"), s.failure().message());
    }

    @Test
    void everyMalformedOpenIsExit5() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        assertRefused(serve(root, stream(List.of(open("vm.img", 65536, 4095)), new byte[0])), ExitStatus.PROTOCOL,
                "block size 4095");
        assertRefused(serve(root, stream(List.of(new Message.Open("vm.img", Long.MAX_VALUE, 0, 0, false, false, -1,
                Optional.empty())), new byte[0])), ExitStatus.PROTOCOL, "source length");
        byte[] flag = stream(List.of(new Message.Open("vm.img", 4096, 4096, 0, false, false, -1, Optional.empty())),
                new byte[0]);
        assertRefused(serve(root, setOpenByte(flag, "dryRun", 2)), ExitStatus.PROTOCOL, "Open.dryRun is 2, not 0 or 1");
    }

    @Test
    void aStreamThatEndsBetweenMessagesOrInsideOneIsTheSameExit5() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        byte[] afterOpen = stream(List.of(open("vm.img", 65536, 0)), new byte[0]);
        assertRefused(serve(root, afterOpen), ExitStatus.PROTOCOL, "ended");
        byte[] insideBegin = java.util.Arrays.copyOf(stream(List.of(open("vm.img", 65536, 0), new Message.Begin(false)),
                new byte[0]), afterOpen.length + 3);
        Served cut = serve(root, insideBegin);
        assertEquals(ExitStatus.PROTOCOL.code(), cut.exit(), cut.replies().toString());
        byte[] copy = firstCopy("vm.img", content(8));
        Served inDelta = serve(root, java.util.Arrays.copyOf(copy, copy.length - 10));
        assertEquals(ExitStatus.PROTOCOL.code(), inDelta.exit(), inDelta.replies().toString());
        assertTrue(Files.notExists(root.resolve("vm.img")));
    }

    @Test
    void aDeltaThatDisagreesWithTheOpenOrTheReadyIsRefused() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        byte[] content = content(9);
        byte[] longer = stream(List.of(open("vm.img", content.length + 4096L, 0), new Message.Begin(false)),
                delta(content, 4096, 4096));
        assertRefused(serve(root, longer), ExitStatus.PROTOCOL, "the sender announced");
        byte[] otherBlocks = stream(List.of(open("vm.img", content.length, 0), new Message.Begin(false)),
                delta(content, 4096, 8192));
        assertRefused(serve(root, otherBlocks), ExitStatus.PROTOCOL, "this cycle's are 4096");
        assertTrue(Files.notExists(root.resolve("vm.img")));
        assertEquals(0, serve(root, firstCopy("vm.img", content)).exit(), "the same cycle, consistent, commits");
    }

    /** {@code stream} with its Open's name replaced by raw {@code name} bytes (CRC recomputed). */
    private static byte[] rewriteOpenName(byte[] stream, byte[] name) throws IOException {
        int open = frameOfType(stream, Message.Open.TYPE);
        int length = ByteBuffer.wrap(stream, open + 1, 4).getInt();
        byte[] payload = java.util.Arrays.copyOfRange(stream, open + 5, open + 5 + length);
        int oldName = ByteBuffer.wrap(payload, 0, 2).getShort() & 0xffff;
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        new DataOutputStream(p).writeShort(name.length);
        p.write(name);
        p.write(payload, 2 + oldName, payload.length - 2 - oldName);
        return replaceFrame(stream, open, 5 + length + 4, Message.Open.TYPE, p.toByteArray());
    }

    /** {@code stream} with one of its Open's flag bytes set to {@code value} (CRC recomputed). */
    private static byte[] setOpenByte(byte[] stream, String field, int value) {
        int open = frameOfType(stream, Message.Open.TYPE);
        int length = ByteBuffer.wrap(stream, open + 1, 4).getInt();
        byte[] payload = java.util.Arrays.copyOfRange(stream, open + 5, open + 5 + length);
        int name = ByteBuffer.wrap(payload, 0, 2).getShort() & 0xffff;
        int at = 2 + name + 8 + 8 + 4 + (field.equals("dryRun") ? 0 : 1);
        payload[at] = (byte) value;
        return replaceFrame(stream, open, 5 + length + 4, Message.Open.TYPE, payload);
    }

    /** Offset of the first frame of {@code type} after the preamble and Hello. */
    private static int frameOfType(byte[] stream, byte type) {
        int at = MessageChannel.PREAMBLE.length;
        while (stream[at] != type) {
            at += 5 + ByteBuffer.wrap(stream, at + 1, 4).getInt() + 4;
        }
        return at;
    }

    private static byte[] replaceFrame(byte[] stream, int at, int oldLength, byte type, byte[] payload) {
        ByteBuffer head = ByteBuffer.allocate(5).put(type).putInt(payload.length);
        CRC32C crc = new CRC32C();
        crc.update(head.array());
        crc.update(payload);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(stream, 0, at);
        out.writeBytes(head.array());
        out.writeBytes(payload);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        out.write(stream, at + oldLength, stream.length - at - oldLength);
        return out.toByteArray();
    }
}
