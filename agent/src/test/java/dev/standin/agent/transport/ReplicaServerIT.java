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
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code standin serve} in this JVM, spoken to byte by byte: what a forged, truncated or hostile
 * sender can make it do. It must refuse with one message and leave the replica as it was.
 */
class ReplicaServerIT {

    @TempDir
    Path dir;

    /** A conversation with a server running on its own thread. */
    private final class Conversation implements AutoCloseable {
        final PipedOutputStream toServer = new PipedOutputStream();
        final PipedInputStream fromServer = new PipedInputStream(1 << 20);
        final MessageChannel channel;
        final CompletableFuture<Integer> exit;

        Conversation(Path root) throws IOException {
            PipedInputStream serverIn = new PipedInputStream(toServer, 1 << 20);
            PipedOutputStream serverOut = new PipedOutputStream(fromServer);
            ReplicaServer server = new ReplicaServer(new ReplicaRoot(root), dir.resolve("state"), 1, NativeIo.tryLoad());
            exit = CompletableFuture.supplyAsync(() -> {
                try (serverOut) {
                    return server.serve(serverIn, serverOut);
                } catch (IOException e) {
                    return -1;
                }
            });
            channel = new MessageChannel(fromServer, toServer);
        }

        /** Greets as a sender of this version's protocol that lists no capabilities (an older build). */
        void hello() throws IOException {
            hello(List.of());
        }

        void hello(List<String> capabilities) throws IOException {
            channel.sendPreamble();
            channel.send(new Message.Hello(Protocol.VERSION, Protocol.VERSION, "test",
                    capabilities));
            channel.expectPreamble();
            channel.expect(Message.Hello.class);
        }

        int exitStatus() throws Exception {
            return exit.get(20, TimeUnit.SECONDS);
        }

        @Override
        public void close() throws IOException {
            toServer.close();
        }
    }

    private static Message.Open open(String path, long length) {
        return new Message.Open(path, length, length, 0, false, false, -1, Optional.empty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"../escape.img", "/etc/escape.img", "a/../../escape.img", "./x.img", "a//b.img", "",
        "outside-link/escape.img", "link-to-file.img"})
    void pathsOutsideTheRootAreRefused(String path) throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.createSymbolicLink(root.resolve("outside-link"), outside);
        Files.writeString(outside.resolve("target.img"), "precious");
        Files.createSymbolicLink(root.resolve("link-to-file.img"), outside.resolve("target.img"));
        try (Conversation c = new Conversation(root)) {
            c.hello();
            c.channel.send(open(path, 4096));
            Message reply = c.channel.receive();
            Message.Failure failure = assertInstanceOf(Message.Failure.class, reply);
            assertEquals(ExitStatus.PROTOCOL.code(), failure.exitStatus(), failure.message());
            assertTrue(failure.message().contains("refused"), failure.message());
            assertEquals(ExitStatus.PROTOCOL.code(), c.exitStatus());
        }
        assertEquals("precious", Files.readString(outside.resolve("target.img")));
        try (var files = Files.list(outside)) {
            assertEquals(1, files.count());
        }
    }

    /**
     * A VM point is recorded only beside the replicas it names, inside the root: a record naming a
     * disk that is not there, a damaged record and a path out of the root are refused, and nothing
     * is written.
     */
    @Test
    void aVmPointIsRecordedOnlyForReplicasThatAreThere() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        Files.createDirectories(root.resolve("web"));
        Files.writeString(root.resolve("web/web.img"), "x");
        dev.standin.agent.vm.VmPoint.Disk disk = new dev.standin.agent.vm.VmPoint.Disk("web.img", 1, 1, new byte[32]);
        dev.standin.agent.vm.VmPoint.Disk absent = new dev.standin.agent.vm.VmPoint.Disk("data.img", 1, 1, new byte[32]);
        java.util.function.Function<List<dev.standin.agent.vm.VmPoint.Disk>, byte[]> record = disks ->
                dev.standin.agent.vm.VmPointFormat.encode(new dev.standin.agent.vm.VmPoint(0, "web",
                        java.time.Instant.EPOCH, disks, Optional.empty()));
        byte[] damaged = record.apply(List.of(disk));
        damaged[20] ^= 1;
        Object[][] refusals = {
            {"web/web.img", record.apply(List.of(disk, absent)), ExitStatus.DESTINATION, "has no replica"},
            {"web/web.img", damaged, ExitStatus.PROTOCOL, "damaged VM point record"},
            {"../web.img", record.apply(List.of(disk)), ExitStatus.PROTOCOL, "refused"},
        };
        for (Object[] r : refusals) {
            try (Conversation c = new Conversation(root)) {
                c.hello();
                c.channel.send(new Message.RecordVmPoint((String) r[0], (byte[]) r[1]));
                Message.Failure failure = assertInstanceOf(Message.Failure.class, c.channel.receive());
                assertEquals(((ExitStatus) r[2]).code(), failure.exitStatus(), failure.message());
                assertTrue(failure.message().contains((String) r[3]), failure.message());
            }
        }
        assertFalse(Files.exists(root.resolve("web/.standin-vms")), "nothing recorded");
        try (Conversation c = new Conversation(root)) {
            c.hello();
            c.channel.send(new Message.RecordVmPoint("web/web.img", record.apply(List.of(disk))));
            assertEquals(1, c.channel.expect(Message.VmPointRecorded.class).id());
            assertEquals(0, c.exitStatus());
        }
        assertTrue(Files.exists(root.resolve("web/.standin-vms/web/point-1")));
    }

    @Test
    void aFrameWithABadChecksumIsRefused() throws Exception {
        try (Conversation c = new Conversation(dir)) {
            c.channel.sendPreamble();
            ByteArrayOutputStream frame = new ByteArrayOutputStream();
            MessageChannel capture = new MessageChannel(java.io.InputStream.nullInputStream(), frame);
            capture.send(new Message.Hello(Protocol.VERSION, Protocol.VERSION, "test", List.of()));
            byte[] bytes = frame.toByteArray();
            bytes[7] ^= 1; // inside the payload: the CRC no longer matches
            c.channel.output().write(bytes);
            c.channel.output().flush();
            c.channel.expectPreamble();
            c.channel.expect(Message.Hello.class);
            Message.Failure failure = assertInstanceOf(Message.Failure.class, c.channel.receive());
            assertTrue(failure.message().contains("checksum"), failure.message());
            assertEquals(ExitStatus.PROTOCOL.code(), c.exitStatus());
        }
    }

    @Test
    void anotherProtocolVersionIsRefused() throws Exception {
        try (Conversation c = new Conversation(dir)) {
            c.channel.sendPreamble();
            c.channel.send(new Message.Hello(7, 9, "from the future", List.of()));
            c.channel.expectPreamble();
            c.channel.expect(Message.Hello.class);
            Message.Failure failure = assertInstanceOf(Message.Failure.class, c.channel.receive());
            assertTrue(failure.message().contains("protocol versions 7..9"), failure.message());
            assertEquals(ExitStatus.PROTOCOL.code(), c.exitStatus());
        }
    }

    @Test
    void garbageInsteadOfAPreambleIsRefused() throws Exception {
        try (Conversation c = new Conversation(dir)) {
            c.channel.output().write("GET / HTTP/1.1\r\n\r\n".getBytes());
            c.channel.output().flush();
            c.channel.expectPreamble();
            c.channel.expect(Message.Hello.class);
            Message.Failure failure = assertInstanceOf(Message.Failure.class, c.channel.receive());
            assertTrue(failure.message().contains("GET / HTTP"), failure.message());
        }
    }

    @Test
    void aHugeClaimedTargetIsRefusedBeforeAnythingIsAllocated() throws Exception {
        try (Conversation c = new Conversation(dir)) {
            c.hello();
            c.channel.send(new Message.Open("huge.img", 1L << 50, 0, 4096, false, false, -1, Optional.empty()));
            Message.Failure failure = assertInstanceOf(Message.Failure.class, c.channel.receive());
            assertTrue(failure.message().contains("blocks a receiver holds"), failure.message());
        }
        assertTrue(Files.notExists(dir.resolve("huge.img")));
    }

    /** A replica, then a delta to new content cut at many lengths: never committed, replica unchanged. */
    @Test
    void aTruncatedDeltaStreamCommitsNothing() throws Exception {
        Path replica = Images.createRandom(dir.resolve("replica.img"), 256 << 10, 1);
        String before = Images.sha256(replica);
        byte[] target = new byte[256 << 10];
        new java.util.Random(2).nextBytes(target);
        byte[] stream = deltaOfWholeNewContent(replica, target);
        for (int cut : new int[] {0, 10, 68, 100, stream.length / 2, stream.length - 1}) {
            try (Conversation c = new Conversation(dir)) {
                c.hello();
                c.channel.send(open("replica.img", target.length));
                Message.Ready ready = c.channel.expect(Message.Ready.class);
                receiveSignatures(c);
                assertEquals(Message.ReplicaKind.FILE, ready.kind());
                c.channel.output().write(stream, 0, cut);
                c.channel.output().flush();
                c.toServer.close();
                Message.Failure failure = assertInstanceOf(Message.Failure.class, c.channel.receive());
                assertEquals(ExitStatus.PROTOCOL.code(), failure.exitStatus(), cut + ": " + failure.message());
            }
            assertEquals(before, Images.sha256(replica), "cut at " + cut);
        }
        // The same conversation with the whole stream commits: the cuts above were the only fault.
        commit("replica.img", target.length, stream, List.of());
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        assertEquals(java.util.HexFormat.of().formatHex(sha.digest(target)), Images.sha256(replica));
    }

    /**
     * The receiver answers a commit with the changed signature entries for a sender that does not
     * list sender-signatures, and with Committed alone for one that does: that sender computed them.
     */
    @Test
    void aSenderThatSignsWhatItSendsIsNotSentTheReplicasSignatures() throws Exception {
        assertTrue(changedEntriesAfterCommit(List.of(), "older.img") > 0);
        assertEquals(0, changedEntriesAfterCommit(List.of(Protocol.SENDER_SIGNATURES), "newer.img"));
    }

    /** Replaces the content of a new replica NAME in one cycle; returns the signature chunks before Committed. */
    private int changedEntriesAfterCommit(List<String> capabilities, String name) throws Exception {
        Path replica = Images.createRandom(dir.resolve(name), 256 << 10, name.length());
        byte[] target = new byte[256 << 10];
        new java.util.Random(name.hashCode()).nextBytes(target);
        int chunks = commit(name, target.length, deltaOfWholeNewContent(replica, target), capabilities);
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        assertEquals(java.util.HexFormat.of().formatHex(sha.digest(target)), Images.sha256(replica));
        return chunks;
    }

    /**
     * One whole cycle to replica {@code name} with {@code stream}, as a sender listing
     * {@code capabilities}: it must commit. Returns the signature chunks that preceded Committed.
     */
    private int commit(String name, long length, byte[] stream, List<String> capabilities) throws Exception {
        int chunks = 0;
        try (Conversation c = new Conversation(dir)) {
            c.hello(capabilities);
            c.channel.send(open(name, length));
            c.channel.expect(Message.Ready.class);
            receiveSignatures(c);
            c.channel.output().write(stream);
            c.channel.output().flush();
            c.toServer.close();
            Message m;
            while ((m = c.channel.receive()) instanceof Message.SignatureChunk) {
                chunks++;
            }
            assertInstanceOf(Message.Committed.class, m);
            assertEquals(0, c.exitStatus());
        }
        return chunks;
    }

    private static void receiveSignatures(Conversation c) throws IOException {
        c.channel.send(new Message.Begin(true));
        c.channel.expect(Message.SignaturesBegin.class);
        for (Message m; !((m = c.channel.receive()) instanceof Message.SignaturesEnd); ) {
            assertInstanceOf(Message.SignatureChunk.class, m);
        }
    }

    /** Literal ops replacing the whole replica, against the replica's real signatures. */
    private static byte[] deltaOfWholeNewContent(Path replica, byte[] target) throws IOException {
        byte[] old = Files.readAllBytes(replica);
        int blockSize = BlockSize.forImageSize(old.length);
        Signatures basis = new Signatures(old.length, blockSize);
        new SignatureBuilder(basis).add(0, ByteBuffer.wrap(old), old.length);
        Signatures next = new Signatures(target.length, blockSize);
        new SignatureBuilder(next).add(0, ByteBuffer.wrap(target), target.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DeltaEncoder encoder = new DeltaEncoder(out,
                new DeltaHeader(blockSize, target.length, old.length, basis.digest()), Compression.NONE);
        encoder.add(new DeltaOp.Literal(0, ByteBuffer.wrap(target)));
        encoder.finish(next.digest());
        return out.toByteArray();
    }

}
