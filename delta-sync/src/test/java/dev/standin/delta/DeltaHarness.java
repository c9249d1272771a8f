package dev.standin.delta;

import dev.standin.delta.stream.Compression;
import dev.standin.delta.stream.DeltaDecoder;
import dev.standin.delta.stream.DeltaEncoder;
import dev.standin.delta.stream.DeltaHeader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Runs the whole algorithm in memory: signatures of the basis, segment-by-segment matching of the
 * target, encoding, decoding, and block assembly into a staging copy of the basis.
 */
final class DeltaHarness {

    /**
     * {@code senderSignatures} are what the sender derives from its deltas' leaves and weak sums,
     * {@code receiverSignatures} what the receiver's assembler computed from the rebuilt blocks.
     */
    record Result(byte[] rebuilt, byte[] stream, MatchStats stats, byte[] sourceDigest, byte[] rebuiltDigest,
            Signatures senderSignatures, Signatures receiverSignatures) {}

    private DeltaHarness() {}

    static Result run(byte[] basis, byte[] target, int blockSize, int segmentSize, Compression compression) throws IOException {
        return run(basis, target, blockSize, segmentSize, compression, MoveSearch.BYTE);
    }

    static Result run(byte[] basis, byte[] target, int blockSize, int segmentSize, Compression compression,
            MoveSearch moves) throws IOException {
        byte[] stream = encode(basis, target, blockSize, segmentSize, compression, moves);
        Encoded encoded = lastEncoded;
        Applied applied = apply(basis, stream);
        return new Result(applied.image, stream, encoded.stats, encoded.digest, applied.digest, encoded.signatures,
                applied.signatures);
    }

    private record Encoded(MatchStats stats, byte[] digest, Signatures signatures) {}

    private static Encoded lastEncoded;

    static byte[] encode(byte[] basis, byte[] target, int blockSize, int segmentSize, Compression compression,
            MoveSearch moves) throws IOException {
        Signatures basisSigs = basis.length == 0 ? Signatures.empty(blockSize) : SignatureBuilder.of(ByteBuffer.wrap(basis), blockSize);
        WeakIndex index = moves == MoveSearch.NONE ? null : WeakIndex.of(basisSigs);
        SegmentMatcher matcher = new SegmentMatcher(basisSigs, index, blockSize, moves).signingTarget();
        Signatures signed = new Signatures(target.length, blockSize);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DeltaEncoder encoder = new DeltaEncoder(out,
                new DeltaHeader(blockSize, target.length, basis.length, basisDigest(basisSigs, basis.length)), compression);
        ImageDigest digest = new ImageDigest(target.length, blockSize);
        MatchStats stats = MatchStats.NONE;
        ByteBuffer direct = ByteBuffer.allocateDirect(Math.max(1, segmentSize));
        for (int off = 0; off < target.length; off += segmentSize) {
            int n = Math.min(segmentSize, target.length - off);
            direct.clear();
            direct.put(target, off, n).flip();
            SegmentDelta delta = matcher.match(off, direct, n);
            for (DeltaOp op : delta.ops()) {
                encoder.add(op);
            }
            for (int i = 0; i < delta.leaves().length; i++) {
                digest.addLeaf(delta.leaves()[i]);
                signed.set(off / blockSize + i, delta.weaks()[i], delta.leaves()[i]);
            }
            stats = stats.plus(delta.stats());
        }
        byte[] sourceDigest = digest.finish();
        encoder.finish(sourceDigest);
        lastEncoded = new Encoded(stats, sourceDigest, signed);
        return out.toByteArray();
    }

    static byte[] basisDigest(Signatures basisSigs, long length) {
        return length == 0 ? DeltaHeader.NO_BASIS : basisSigs.digest();
    }

    record Applied(byte[] image, byte[] digest, Signatures signatures) {}

    /** Decodes and assembles into a staging copy; the basis array itself is never written. */
    static Applied apply(byte[] basis, byte[] stream) throws IOException {
        DeltaDecoder decoder = new DeltaDecoder(new ByteArrayInputStream(stream));
        DeltaHeader header = decoder.header();
        int blockSize = header.blockSize();
        Signatures basisSigs = basis.length == 0 ? Signatures.empty(blockSize) : SignatureBuilder.of(ByteBuffer.wrap(basis), blockSize);
        byte[] staging = new byte[Math.toIntExact(header.targetLength())];
        System.arraycopy(basis, 0, staging, 0, Math.min(basis.length, staging.length));
        BlockAssembler assembler = new BlockAssembler(basisSigs,
                (offset, dst) -> {
                    int n = dst.remaining();
                    if (offset + n > basis.length) {
                        throw new IOException("basis read past end");
                    }
                    dst.put(basis, (int) offset, n);
                },
                header.targetLength(), blockSize,
                new BlockAssembler.BlockSink() {
                    @Override
                    public void same(int block) {}

                    @Override
                    public void zero(int block, int length) {
                        java.util.Arrays.fill(staging, block * blockSize, block * blockSize + length, (byte) 0);
                    }

                    @Override
                    public void data(int block, ByteBuffer content) {
                        content.get(staging, block * blockSize, content.remaining());
                    }
                });
        List<DeltaOp> frame;
        while ((frame = decoder.nextFrame()) != null) {
            for (DeltaOp op : frame) {
                assembler.accept(op);
            }
        }
        Signatures rebuilt = assembler.finish();
        return new Applied(staging, rebuilt.digest(), rebuilt);
    }
}
