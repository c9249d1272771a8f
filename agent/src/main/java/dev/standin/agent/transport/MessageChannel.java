package dev.standin.agent.transport;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * One end of a standin protocol conversation over a pair of byte streams (an SSH exec channel,
 * or the stdin/stdout of {@code standin serve}). Frames are
 * {@code type u8 | length u32 | payload | crc32c u32} where the CRC covers type, length and
 * payload; each side starts with the 8-byte preamble {@code STPROTO\n}. The delta stream of a
 * cycle travels on the same streams between messages ({@link #input()}, {@link #output()}).
 */
public final class MessageChannel implements AutoCloseable {

    static final byte[] PREAMBLE = {'S', 'T', 'P', 'R', 'O', 'T', 'O', '\n'};
    /** Largest payload: a full signature chunk (640 KiB) and its header fit with room to spare. */
    static final int MAX_PAYLOAD = 1 << 20;

    private final InputStream in;
    private final OutputStream out;
    private final DataInputStream dataIn;
    private volatile long keepAlives;

    public MessageChannel(InputStream in, OutputStream out) {
        this.in = new BufferedInputStream(in, 1 << 16);
        this.out = new BufferedOutputStream(out, 1 << 16);
        this.dataIn = new DataInputStream(this.in);
    }

    /** Sends the preamble; call once, before the first message. */
    public void sendPreamble() throws IOException {
        out.write(PREAMBLE);
        out.flush();
    }

    /**
     * Reads the peer's preamble. Anything else (a login banner, a shell's "command not found", an
     * older standin) is reported with what the peer actually sent, as far as it is text.
     */
    public void expectPreamble() throws IOException {
        byte[] got = new byte[PREAMBLE.length];
        int n = 0;
        while (n < got.length) {
            int r = in.read(got, n, got.length - n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        if (n == got.length && Arrays.equals(got, PREAMBLE)) {
            return;
        }
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        said.write(got, 0, n);
        byte[] more = new byte[200];
        if (n == got.length) {
            int r = in.read(more);
            if (r > 0) {
                said.write(more, 0, r);
            }
        }
        String text = said.toString(StandardCharsets.UTF_8).replaceAll("[^\\x20-\\x7e]+", " ").trim();
        throw new ProtocolException(n == 0 ? "the peer closed the connection before saying anything"
                : "the peer does not speak the standin protocol; it said: \"" + text + "\"");
    }

    /** Synchronized: a receiver's {@link Heartbeat} sends from its own thread between the cycle's messages. */
    public synchronized void send(Message message) throws IOException {
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        message.write(new DataOutputStream(payload));
        if (payload.size() > MAX_PAYLOAD) {
            throw new IllegalArgumentException("message of " + payload.size() + " bytes is over " + MAX_PAYLOAD);
        }
        ByteBuffer head = ByteBuffer.allocate(5).put(message.type()).putInt(payload.size());
        CRC32C crc = new CRC32C();
        crc.update(head.array());
        crc.update(payload.toByteArray());
        out.write(head.array());
        payload.writeTo(out);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        out.flush();
    }

    /** The next message; a {@link Message.Failure} is returned like any other. */
    public Message receive() throws IOException {
        return receiveOrEnd().orElseThrow(() -> new EOFException("the peer closed the connection"));
    }

    /** KeepAlives received so far; they are never returned by {@link #receive}. */
    public long keepAlives() {
        return keepAlives;
    }

    /** The next message, or empty if the peer closed the stream where a message would start; KeepAlives are counted and skipped. */
    public Optional<Message> receiveOrEnd() throws IOException {
        while (true) {
            Optional<Message> next = receiveAny();
            if (next.isPresent() && next.get() instanceof Message.KeepAlive) {
                keepAlives++;
                continue;
            }
            return next;
        }
    }

    /** The next message of any type, KeepAlives included. */
    Optional<Message> receiveAny() throws IOException {
        byte[] head = new byte[5];
        int first = dataIn.read();
        if (first < 0) {
            return Optional.empty();
        }
        head[0] = (byte) first;
        try {
            dataIn.readFully(head, 1, 4);
        } catch (EOFException e) {
            throw new EOFException("the peer closed the connection");
        }
        int length = ByteBuffer.wrap(head, 1, 4).getInt();
        if (length < 0 || length > MAX_PAYLOAD) {
            throw new ProtocolException("frame claims a " + Integer.toUnsignedString(length) + "-byte payload, over "
                    + MAX_PAYLOAD);
        }
        byte[] payload = new byte[length];
        byte[] sum = new byte[4];
        try {
            dataIn.readFully(payload);
            dataIn.readFully(sum);
        } catch (EOFException e) {
            throw new ProtocolException("the connection ended inside a frame");
        }
        CRC32C crc = new CRC32C();
        crc.update(head);
        crc.update(payload);
        if (ByteBuffer.wrap(sum).getInt() != (int) crc.getValue()) {
            throw new ProtocolException("frame checksum mismatch (type " + head[0] + ", " + length + " bytes)");
        }
        DataInputStream fields = new DataInputStream(new java.io.ByteArrayInputStream(payload));
        Message message;
        try {
            message = Message.read(head[0], fields);
        } catch (EOFException e) {
            throw new ProtocolException("message of type " + head[0] + " is shorter than its fields");
        }
        if (fields.available() != 0) {
            throw new ProtocolException("message of type " + head[0] + " has " + fields.available() + " bytes too many");
        }
        return Optional.of(message);
    }

    /**
     * The next message, which must be a {@code type}; a {@link Message.Failure} from the peer
     * becomes a {@link RemoteFailure}.
     */
    public <T extends Message> T expect(Class<T> type) throws IOException {
        Message m = receive();
        if (m instanceof Message.Failure f) {
            throw new RemoteFailure(f);
        }
        if (!type.isInstance(m)) {
            throw new ProtocolException("expected " + type.getSimpleName() + ", the peer sent "
                    + m.getClass().getSimpleName());
        }
        return type.cast(m);
    }

    /** The incoming byte stream, positioned after the last message read. */
    public InputStream input() {
        return in;
    }

    /** The outgoing byte stream; flush it before the next {@link #send} or {@link #receive}. */
    public OutputStream output() {
        return out;
    }

    @Override
    public void close() throws IOException {
        try (InputStream i = in) {
            out.close();
        }
    }
}
