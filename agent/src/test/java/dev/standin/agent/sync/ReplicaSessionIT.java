package dev.standin.agent.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.standin.agent.Images;
import dev.standin.agent.replica.SignatureCache;
import dev.standin.delta.DeltaOp;
import dev.standin.delta.SignatureBuilder;
import dev.standin.delta.Signatures;
import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaEncoder;
import dev.standin.delta.stream.DeltaHeader;
import dev.standin.nativeio.NativeIo;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The receiving half of a cycle on a real file replica, between its commit and its signature record. */
class ReplicaSessionIT {

    private static final int B = 4096;

    @TempDir
    Path dir;

    /**
     * A receiver records the replica's signatures after it has answered its sender. A write to the
     * replica in between (someone boots it at once) must leave that record unusable: it vouches for
     * the replica as committed, not as it is when the record is written.
     */
    @Test
    void aWriteBetweenTheCommitAndItsRecordVoidsTheRecord() throws Exception {
        Path replica = Images.createRandom(dir.resolve("replica.img"), 64 * B, 1);
        byte[] target = new byte[64 * B];
        new Random(2).nextBytes(target);
        Signatures basis = SignatureBuilder.of(ByteBuffer.wrap(Files.readAllBytes(replica)), B);
        try (ReplicaSession session = ReplicaSession.open(replica, dir.resolve("state"), NativeIo.tryLoad())) {
            ReplicaSession.Committed committed = session.apply(new ByteArrayInputStream(delta(basis, target)), target.length, basis,
                    basis.digest(), 0, Progress.NONE);
            Thread.sleep(20); // past the clock tick of the commit's last write
            try (RandomAccessFile f = new RandomAccessFile(replica.toFile(), "rw")) {
                f.seek(5 * B);
                f.write(new byte[B]);
            }
            session.keepSignatures(committed);
        }
        assertTrue(SignatureCache.load(replica, B).isEmpty(), "a record of the committed replica vouches for the one written since");

        // Without the write, the record stands.
        Path other = Images.createRandom(dir.resolve("other.img"), 64 * B, 3);
        Signatures otherBasis = SignatureBuilder.of(ByteBuffer.wrap(Files.readAllBytes(other)), B);
        try (ReplicaSession session = ReplicaSession.open(other, dir.resolve("state"), NativeIo.tryLoad())) {
            session.keepSignatures(session.apply(new ByteArrayInputStream(delta(otherBasis, target)), target.length, otherBasis,
                    otherBasis.digest(), 0, Progress.NONE));
        }
        assertEquals(SignatureBuilder.of(ByteBuffer.wrap(target), B), SignatureCache.load(other, B).orElseThrow());
    }

    /** Literal ops replacing the whole basis with {@code target}. */
    private static byte[] delta(Signatures basis, byte[] target) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (DeltaEncoder encoder = new DeltaEncoder(out, new DeltaHeader(B, target.length, basis.length(), basis.digest()),
                Compression.NONE)) {
            encoder.add(new DeltaOp.Literal(0, ByteBuffer.wrap(target)));
            encoder.finish(SignatureBuilder.of(ByteBuffer.wrap(target), B).digest());
        }
        return out.toByteArray();
    }
}
