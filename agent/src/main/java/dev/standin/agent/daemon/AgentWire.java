package dev.standin.agent.daemon;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The frames between a {@code standin} command and the resident agent on a Unix socket
 * (docs/agent.md): magic, version, type, length, payload, and a CRC32C over all of it.
 */
final class AgentWire {

    static final int MAGIC = 0x53414754; // "SAGT"
    /** 2: a RUN request carries the client's pid, and the agent may answer ACCEPTED_PIPES; 3: and its mount namespace. */
    static final int VERSION = 3;
    static final int HEADER_LENGTH = 12;
    static final int MAX_PAYLOAD = 1 << 20;

    // client -> agent
    static final int RUN = 1;
    static final int STDIN = 2;
    static final int STDIN_END = 3;
    // agent -> client
    static final int ACCEPTED = 10;
    static final int REFUSED = 11;
    static final int STDOUT = 12;
    static final int STDERR = 13;
    static final int EXIT = 14;
    /** Accepted, and the agent reads and writes the client's stdin and stdout pipes itself ({@link ClientPipes}). */
    static final int ACCEPTED_PIPES = 15;

    /** One frame as read: its type and payload. */
    record Frame(int type, byte[] payload) {
        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        int exitStatus() throws AgentWireException {
            if (payload.length != 4) {
                throw new AgentWireException("exit frame of " + payload.length + " bytes");
            }
            return ByteBuffer.wrap(payload).getInt();
        }
    }

    private AgentWire() {}

    /** Writes one frame; callers sharing {@code out} between threads hold its lock. */
    static void write(OutputStream out, int type, byte[] payload, int offset, int length) throws IOException {
        if (length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + length + " bytes");
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH)
                .putInt(MAGIC).put((byte) VERSION).put((byte) type).putShort((short) 0).putInt(length);
        CRC32C crc = new CRC32C();
        crc.update(header.array(), 0, HEADER_LENGTH);
        crc.update(payload, offset, length);
        byte[] trailer = ByteBuffer.allocate(4).putInt((int) crc.getValue()).array();
        byte[] frame = new byte[HEADER_LENGTH + length + 4];
        System.arraycopy(header.array(), 0, frame, 0, HEADER_LENGTH);
        System.arraycopy(payload, offset, frame, HEADER_LENGTH, length);
        System.arraycopy(trailer, 0, frame, HEADER_LENGTH + length, 4);
        out.write(frame);
        out.flush();
    }

    static void write(OutputStream out, int type, byte[] payload) throws IOException {
        write(out, type, payload, 0, payload.length);
    }

    static void writeText(OutputStream out, int type, String text) throws IOException {
        write(out, type, text.getBytes(StandardCharsets.UTF_8));
    }

    static void writeExit(OutputStream out, int status) throws IOException {
        write(out, EXIT, ByteBuffer.allocate(4).putInt(status).array());
    }

    /** The next frame, or null at a clean end of the stream (between frames). */
    static Frame read(InputStream in) throws IOException {
        byte[] header = new byte[HEADER_LENGTH];
        int first = in.read(header, 0, 1);
        if (first < 0) {
            return null;
        }
        DataInputStream data = new DataInputStream(in);
        try {
            data.readFully(header, 1, HEADER_LENGTH - 1);
            ByteBuffer h = ByteBuffer.wrap(header);
            int magic = h.getInt();
            int version = h.get() & 0xFF;
            int type = h.get() & 0xFF;
            h.getShort();
            int length = h.getInt();
            if (magic != MAGIC) {
                throw new AgentWireException(String.format("not a standin agent frame (magic %08x)", magic));
            }
            if (version != VERSION) {
                throw new AgentWireException("agent frame version " + version + ", this standin speaks " + VERSION);
            }
            if (length < 0 || length > MAX_PAYLOAD) {
                throw new AgentWireException("agent frame claims " + Integer.toUnsignedString(length) + " bytes");
            }
            byte[] payload = new byte[length];
            data.readFully(payload);
            int stored = data.readInt();
            CRC32C crc = new CRC32C();
            crc.update(header);
            crc.update(payload);
            if ((int) crc.getValue() != stored) {
                throw new AgentWireException("agent frame of type " + type + " fails its checksum");
            }
            return new Frame(type, payload);
        } catch (EOFException e) {
            throw new AgentWireException("agent stream ends inside a frame");
        }
    }

    /**
     * Streams over a blocking socket channel that one thread may read while another writes
     * ({@link java.nio.channels.Channels}' streams share one lock between the two directions).
     */
    static InputStream input(java.nio.channels.SocketChannel channel) {
        return new java.io.BufferedInputStream(new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
            }
        }, 64 << 10);
    }

    static OutputStream output(java.nio.channels.SocketChannel channel) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                ByteBuffer buffer = ByteBuffer.wrap(b, off, len);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
            }
        };
    }

    /** A list of strings: a count, then each as length and UTF-8 bytes. */
    static byte[] encodeStrings(List<String> strings) {
        List<byte[]> encoded = new ArrayList<>();
        int size = 4;
        for (String s : strings) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            encoded.add(b);
            size += 4 + b.length;
        }
        ByteBuffer buffer = ByteBuffer.allocate(size).putInt(strings.size());
        for (byte[] b : encoded) {
            buffer.putInt(b.length).put(b);
        }
        return buffer.array();
    }

    static List<String> decodeStrings(byte[] payload) throws AgentWireException {
        ByteBuffer buffer = ByteBuffer.wrap(payload);
        try {
            int count = buffer.getInt();
            if (count < 0 || count > payload.length / 4) {
                throw new AgentWireException("string list claims " + count + " entries");
            }
            List<String> strings = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int length = buffer.getInt();
                if (length < 0 || length > buffer.remaining()) {
                    throw new AgentWireException("string " + i + " claims " + length + " bytes");
                }
                byte[] b = new byte[length];
                buffer.get(b);
                strings.add(new String(b, StandardCharsets.UTF_8));
            }
            if (buffer.hasRemaining()) {
                throw new AgentWireException(buffer.remaining() + " bytes after the string list");
            }
            return strings;
        } catch (java.nio.BufferUnderflowException e) {
            throw new AgentWireException("string list ends early");
        }
    }

    /** A frame that is not what the agent protocol allows. */
    static final class AgentWireException extends IOException {
        AgentWireException(String message) {
            super(message);
        }
    }
}
