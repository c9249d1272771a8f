package dev.standin.snapshot.nbd;

import dev.standin.nativeio.Extent;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * One connection to an NBD export in the transmission phase: the fixed newstyle handshake with
 * structured replies and the metadata contexts asked for, then requests answered one at a time.
 * Not for several threads at once ({@link NbdImage} pools connections). Every wait is bounded by
 * the timeout, so a hung server fails the cycle instead of holding it; after any failure the
 * connection is broken and only {@link #close()} is left.
 */
public final class NbdConnection implements AutoCloseable {

    /** {@code base:allocation}'s flags: not allocated, and reads as zeros. */
    public static final String ALLOCATION = "base:allocation";
    public static final int STATE_HOLE = 1;
    public static final int STATE_ZERO = 2;
    /** QEMU's context of a dirty bitmap exported with the drive; flag 1: written since the bitmap began. */
    public static final String DIRTY_BITMAP = "qemu:dirty-bitmap:";
    public static final int STATE_DIRTY = 1;

    /** The most one block status request asks about: the protocol's 32-bit length, kept aligned. */
    private static final int STATUS_SPAN = 1 << 30;

    private final NbdExport export;
    private final SocketChannel channel;
    private final Selector selector;
    private final long timeoutMillis;
    private final Map<String, Integer> contexts;
    private final NbdWire.ExportInfo info;
    private final int maxRead;
    private final ByteBuffer header = ByteBuffer.allocate(20);
    private long nextCookie = 1;
    private boolean broken;

    private NbdConnection(NbdExport export, SocketChannel channel, Selector selector, long timeoutMillis,
            Map<String, Integer> contexts, NbdWire.ExportInfo info, NbdWire.BlockSizes sizes) {
        this.export = export;
        this.channel = channel;
        this.selector = selector;
        this.timeoutMillis = timeoutMillis;
        this.contexts = contexts;
        this.info = info;
        this.maxRead = Math.min(sizes.maximum(), NbdWire.MAX_PAYLOAD_LIMIT - 8);
    }

    /** Connects and negotiates; every context in {@code contexts} must be granted. */
    public static NbdConnection open(NbdExport export, List<String> contexts, Duration timeout) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        Selector selector = null;
        try {
            channel.connect(UnixDomainSocketAddress.of(export.socket()));
            channel.configureBlocking(false);
            selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
            Handshake handshake = new Handshake(export, channel, selector, timeout.toMillis());
            return handshake.negotiate(contexts);
        } catch (IOException | RuntimeException e) {
            channel.close();
            if (selector != null) {
                selector.close();
            }
            if (e instanceof NbdException) {
                throw new NbdException(export + ": " + e.getMessage(), e);
            }
            throw e;
        }
    }

    public long size() {
        return info.size();
    }

    /** Fills {@code dst}'s remaining bytes from {@code offset} of the export. */
    public void read(long offset, ByteBuffer dst) throws IOException {
        checkUsable();
        if (offset < 0 || offset + dst.remaining() > info.size()) {
            throw new NbdException(export + ": read of " + dst.remaining() + " bytes at " + offset
                    + " is outside the export's " + info.size());
        }
        long at = offset;
        guarded(() -> {
            long next = at;
            while (dst.hasRemaining()) {
                int n = Math.min(dst.remaining(), maxRead);
                readPiece(next, dst.slice(dst.position(), n));
                dst.position(dst.position() + n);
                next += n;
            }
            return null;
        });
    }

    /** A request on this connection; the stream's position is unknown after it fails. */
    private interface Request<T> {
        T run() throws IOException;
    }

    /** Runs {@code request}, breaking the connection if it fails. */
    private <T> T guarded(Request<T> request) throws IOException {
        try {
            return request.run();
        } catch (IOException e) {
            broken = true;
            throw named(e);
        } catch (RuntimeException e) {
            broken = true;
            throw e;
        }
    }

    /** A socket's own error (a broken pipe, a reset) names the export it was reading. */
    private IOException named(IOException e) {
        if (e instanceof NbdException || e instanceof InterruptedIOException) {
            return e;
        }
        String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new NbdException(export + ": " + reason, e);
    }

    /**
     * The extents of {@code [0, size)} whose flags in {@code context} (one of those negotiated)
     * satisfy {@code wanted}, merged where adjacent, in order.
     */
    public List<Extent> extents(String context, IntPredicate wanted) throws IOException {
        checkUsable();
        Integer id = contexts.get(context);
        if (id == null) {
            throw new IllegalArgumentException(context + " was not negotiated");
        }
        return guarded(() -> {
            List<long[]> result = new ArrayList<>();
            long offset = 0;
            while (offset < info.size()) {
                int span = (int) Math.min(STATUS_SPAN, info.size() - offset);
                List<NbdWire.Status> statuses = blockStatus(offset, span, id);
                for (NbdWire.Status status : statuses) {
                    long length = Math.min(status.length(), info.size() - offset);
                    if (length <= 0) {
                        break;
                    }
                    if (wanted.test(status.flags())) {
                        long[] last = result.isEmpty() ? null : result.get(result.size() - 1);
                        if (last != null && last[0] + last[1] == offset) {
                            last[1] += length;
                        } else {
                            result.add(new long[] {offset, length});
                        }
                    }
                    offset += length;
                }
            }
            return result.stream().map(r -> new Extent(r[0], r[1])).toList();
        });
    }

    private void checkUsable() throws NbdException {
        if (broken) {
            throw new NbdException(export + ": the connection failed earlier");
        }
    }

    private void readPiece(long offset, ByteBuffer piece) throws IOException {
        long cookie = send(NbdWire.CMD_READ, offset, piece.remaining());
        int length = piece.remaining();
        List<long[]> covered = new ArrayList<>();
        String error = null;
        NbdWire.Chunk chunk;
        do {
            chunk = chunk(cookie);
            if (!chunk.structured()) {
                if (chunk.error() == 0) {
                    throw new NbdException(export + ": the server sent a simple reply to a read");
                }
                error = NbdWire.errorName(chunk.error());
                break;
            }
            if (chunk.isError()) {
                error = NbdWire.chunkError(payload(chunk.length()));
                continue;
            }
            switch (chunk.type()) {
                case NbdWire.REPLY_TYPE_OFFSET_DATA -> {
                    if (chunk.length() < 9) {
                        throw new NbdException(export + ": data chunk of " + chunk.length() + " bytes");
                    }
                    long at = payload(8).getLong();
                    int n = chunk.length() - 8;
                    int position = within(offset, length, at, n);
                    fill(piece.slice(position, n));
                    covered.add(new long[] {position, n});
                }
                case NbdWire.REPLY_TYPE_OFFSET_HOLE -> {
                    NbdWire.Hole hole = NbdWire.Hole.decode(payload(chunk.length()));
                    int position = within(offset, length, hole.offset(), hole.length());
                    ByteBuffer zeros = piece.slice(position, hole.length());
                    while (zeros.hasRemaining()) {
                        zeros.put((byte) 0);
                    }
                    covered.add(new long[] {position, hole.length()});
                }
                case NbdWire.REPLY_TYPE_NONE -> {
                    if (chunk.length() != 0) {
                        throw new NbdException(export + ": empty chunk with " + chunk.length() + " bytes");
                    }
                }
                default -> throw new NbdException(export + ": unexpected reply chunk type " + chunk.type()
                        + " to a read");
            }
        } while (!chunk.done());
        if (error != null) {
            throw new NbdException(export + ": reading " + length + " bytes at " + offset + ": " + error);
        }
        checkCovered(covered, offset, length);
    }

    /** The chunk must lie inside the request; returns its position in the request's buffer. */
    private int within(long offset, int length, long at, long n) throws NbdException {
        if (at < offset || at + n > offset + length) {
            throw new NbdException(export + ": the server answered [" + at + ", +" + n + ") to a read of [" + offset
                    + ", +" + length + ")");
        }
        return (int) (at - offset);
    }

    /** Content chunks must cover the request exactly once: a gap would read as stale buffer bytes. */
    private void checkCovered(List<long[]> covered, long offset, int length) throws NbdException {
        covered.sort((a, b) -> Long.compare(a[0], b[0]));
        long next = 0;
        for (long[] range : covered) {
            if (range[0] != next) {
                throw new NbdException(export + ": the reply to a read of [" + offset + ", +" + length + ") "
                        + (range[0] < next ? "overlaps itself" : "misses bytes") + " at " + (offset + Math.min(range[0], next)));
            }
            next += range[1];
        }
        if (next != length) {
            throw new NbdException(export + ": the reply to a read of [" + offset + ", +" + length + ") ends at "
                    + (offset + next));
        }
    }

    private List<NbdWire.Status> blockStatus(long offset, int length, int context) throws IOException {
        long cookie = send(NbdWire.CMD_BLOCK_STATUS, offset, length);
        List<NbdWire.Status> found = null;
        String error = null;
        NbdWire.Chunk chunk;
        do {
            chunk = chunk(cookie);
            if (!chunk.structured()) {
                error = chunk.error() == 0 ? "no block status in the reply" : NbdWire.errorName(chunk.error());
                break;
            }
            if (chunk.isError()) {
                error = NbdWire.chunkError(payload(chunk.length()));
            } else if (chunk.type() == NbdWire.REPLY_TYPE_BLOCK_STATUS) {
                NbdWire.StatusChunk status = NbdWire.StatusChunk.decode(payload(chunk.length()));
                if (status.context() == context) {
                    found = status.extents();
                }
            } else if (chunk.type() != NbdWire.REPLY_TYPE_NONE || chunk.length() != 0) {
                throw new NbdException(export + ": unexpected reply chunk type " + chunk.type() + " to block status");
            }
        } while (!chunk.done());
        if (error != null) {
            throw new NbdException(export + ": block status at " + offset + ": " + error);
        }
        if (found == null || found.isEmpty()) {
            throw new NbdException(export + ": block status at " + offset + " has no extents of the context asked for");
        }
        return found;
    }

    private long send(int type, long offset, int length) throws IOException {
        long cookie = nextCookie++;
        write(channel, selector, timeoutMillis, NbdWire.request(type, 0, cookie, offset, length));
        return cookie;
    }

    private NbdWire.Chunk chunk(long cookie) throws IOException {
        header.clear().limit(NbdWire.HEADER_PEEK);
        fill(header);
        int magic = header.flip().getInt();
        header.clear().limit(NbdWire.Chunk.remainder(magic));
        fill(header);
        NbdWire.Chunk chunk = NbdWire.Chunk.decode(magic, header.flip());
        if (chunk.cookie() != cookie) {
            throw new NbdException(export + ": reply for request " + chunk.cookie() + " while waiting for " + cookie);
        }
        return chunk;
    }

    private ByteBuffer payload(int length) throws IOException {
        ByteBuffer payload = ByteBuffer.allocate(length);
        fill(payload);
        return payload.flip();
    }

    private void fill(ByteBuffer dst) throws IOException {
        fill(channel, selector, timeoutMillis, dst, export);
    }

    static void fill(SocketChannel channel, Selector selector, long timeoutMillis, ByteBuffer dst, NbdExport export)
            throws IOException {
        while (dst.hasRemaining()) {
            int n = channel.read(dst);
            if (n < 0) {
                throw new NbdException(export + ": the server closed the connection");
            }
            if (n == 0) {
                await(selector, timeoutMillis, export);
            }
        }
    }

    static void write(SocketChannel channel, Selector selector, long timeoutMillis, ByteBuffer src) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (src.hasRemaining()) {
            if (channel.write(src) == 0) {
                // A UNIX socket's buffer holds far more than a request; a full one means a stuck server.
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedIOException("interrupted while writing to the NBD server");
                }
                if (System.nanoTime() > deadline) {
                    throw new NbdException("the NBD server took no request for " + timeoutMillis / 1000 + " s");
                }
                Thread.onSpinWait();
            }
        }
    }

    private static void await(Selector selector, long timeoutMillis, NbdExport export) throws IOException {
        int ready = selector.select(timeoutMillis);
        selector.selectedKeys().clear();
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException("interrupted while waiting for the NBD server " + export);
        }
        if (ready == 0) {
            throw new NbdException(export + ": no answer from the NBD server in " + timeoutMillis / 1000 + " s");
        }
    }

    /** Says goodbye ({@code NBD_CMD_DISC}) if the connection is healthy, and closes it. */
    @Override
    public void close() {
        try {
            if (!broken && channel.isOpen()) {
                write(channel, selector, timeoutMillis, NbdWire.request(NbdWire.CMD_DISC, 0, nextCookie++, 0, 0));
            }
        } catch (IOException e) {
            // closing anyway
        } finally {
            try {
                channel.close();
                selector.close();
            } catch (IOException e) {
                // nothing is left to release
            }
        }
    }

    /** The handshake phase: option haggling up to {@code NBD_OPT_GO}. */
    private record Handshake(NbdExport export, SocketChannel channel, Selector selector, long timeoutMillis) {

        NbdConnection negotiate(List<String> wanted) throws IOException {
            ByteBuffer greeting = ByteBuffer.allocate(18);
            fill(channel, selector, timeoutMillis, greeting, export);
            int serverFlags = NbdWire.greeting(greeting.flip());
            write(channel, selector, timeoutMillis, NbdWire.clientFlags(serverFlags));
            expectAck(NbdWire.OPT_STRUCTURED_REPLY, new byte[0]);
            Map<String, Integer> contexts = new HashMap<>();
            if (!wanted.isEmpty()) {
                send(NbdWire.OPT_SET_META_CONTEXT, NbdWire.setMetaContext(export.name(), wanted));
                for (Reply reply = reply(NbdWire.OPT_SET_META_CONTEXT); reply.type() != NbdWire.REP_ACK;
                        reply = reply(NbdWire.OPT_SET_META_CONTEXT)) {
                    if (reply.type() != NbdWire.REP_META_CONTEXT) {
                        throw new NbdException("unexpected reply " + reply.type() + " to metadata contexts");
                    }
                    NbdWire.MetaContext context = NbdWire.MetaContext.decode(reply.data());
                    contexts.put(context.name(), context.id());
                }
                for (String context : wanted) {
                    if (!contexts.containsKey(context)) {
                        throw new NbdException("the export offers no metadata context '" + context + "'");
                    }
                }
            }
            send(NbdWire.OPT_GO, NbdWire.go(export.name(), NbdWire.INFO_BLOCK_SIZE));
            NbdWire.ExportInfo info = null;
            NbdWire.BlockSizes sizes = NbdWire.BlockSizes.DEFAULT;
            for (Reply reply = reply(NbdWire.OPT_GO); reply.type() != NbdWire.REP_ACK; reply = reply(NbdWire.OPT_GO)) {
                if (reply.type() != NbdWire.REP_INFO) {
                    throw new NbdException("unexpected reply " + reply.type() + " to opening the export");
                }
                int type = NbdWire.infoType(reply.data());
                if (type == NbdWire.INFO_EXPORT) {
                    info = NbdWire.exportInfo(reply.data());
                } else if (type == NbdWire.INFO_BLOCK_SIZE) {
                    sizes = NbdWire.blockSizes(reply.data());
                }
            }
            if (info == null) {
                throw new NbdException("the server opened the export without saying its size");
            }
            return new NbdConnection(export, channel, selector, timeoutMillis, Map.copyOf(contexts), info, sizes);
        }

        private record Reply(int type, ByteBuffer data) {}

        private void send(int option, byte[] data) throws IOException {
            write(channel, selector, timeoutMillis, NbdWire.option(option, data));
        }

        private void expectAck(int option, byte[] data) throws IOException {
            send(option, data);
            Reply reply = reply(option);
            if (reply.type() != NbdWire.REP_ACK) {
                throw new NbdException("unexpected reply " + reply.type() + " to option " + option);
            }
        }

        /** One reply; an error reply is thrown with its meaning in words. */
        private Reply reply(int option) throws IOException {
            ByteBuffer fixed = ByteBuffer.allocate(20);
            fill(channel, selector, timeoutMillis, fixed, export);
            NbdWire.OptionReply reply = NbdWire.OptionReply.decode(fixed.flip(), option);
            ByteBuffer data = ByteBuffer.allocate(reply.length());
            fill(channel, selector, timeoutMillis, data, export);
            data.flip();
            if (reply.isError()) {
                byte[] text = new byte[data.remaining()];
                data.get(text);
                throw new NbdException(NbdWire.optionError(option, reply.type(), text));
            }
            return new Reply(reply.type(), data);
        }
    }
}
