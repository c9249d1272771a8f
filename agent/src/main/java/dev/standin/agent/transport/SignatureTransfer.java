package dev.standin.agent.transport;

import dev.standin.delta.Signatures;
import java.io.IOException;
import java.util.Arrays;

/** Signature sets over the wire: whole (receiver → sender before a delta) or as a diff after a commit. */
final class SignatureTransfer {

    private SignatureTransfer() {}

    /** Sends entries {@code [from, to)} of {@code signatures} in chunks. */
    static void sendRange(MessageChannel channel, Signatures signatures, int from, int to) throws IOException {
        for (int first = from; first < to; ) {
            int n = Math.min(Message.SignatureChunk.MAX_ENTRIES, to - first);
            int[] weak = new int[n];
            long[] strong = new long[n];
            for (int i = 0; i < n; i++) {
                weak[i] = signatures.weak(first + i);
                strong[i] = signatures.strong(first + i);
            }
            channel.send(new Message.SignatureChunk(first, weak, strong));
            first += n;
        }
    }

    /**
     * Sends the runs of entries in which {@code now} differs from {@code before}; the last block of
     * {@code before} always counts as changed when the length changed (its length did).
     */
    static void sendChanges(MessageChannel channel, Signatures before, Signatures now) throws IOException {
        int count = now.blockCount();
        int common = Math.min(before.blockCount(), count);
        if (before.length() != now.length() && common > 0) {
            common--;
        }
        int i = 0;
        while (i < count) {
            if (i < common && same(before, now, i)) {
                i++;
                continue;
            }
            int end = i + 1;
            while (end < count && !(end < common && same(before, now, end))) {
                end++;
            }
            sendRange(channel, now, i, end);
            i = end;
        }
    }

    private static boolean same(Signatures a, Signatures b, int i) {
        return a.weak(i) == b.weak(i) && a.strong(i) == b.strong(i);
    }

    /** Stores a received chunk into {@code target}, refusing entries outside it. */
    static void receive(Message.SignatureChunk chunk, Signatures target) throws ProtocolException {
        long end = (long) chunk.first() + chunk.weak().length;
        if (end > target.blockCount()) {
            throw new ProtocolException("signature chunk ends at block " + end + " of " + target.blockCount());
        }
        for (int i = 0; i < chunk.weak().length; i++) {
            target.set(chunk.first() + i, chunk.weak()[i], chunk.strong()[i]);
        }
    }

    /** {@code before}'s entries resized to a {@code length}-byte image: the starting point of a diff. */
    static Signatures resized(Signatures before, long length) {
        Signatures s = new Signatures(length, before.blockSize());
        for (int i = 0, n = Math.min(before.blockCount(), s.blockCount()); i < n; i++) {
            s.copyFrom(before, i, i);
        }
        return s;
    }

    static boolean digestEquals(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }
}
