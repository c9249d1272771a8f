package dev.standin.snapshot.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The messages of the NBD protocol this client speaks (fixed newstyle handshake, structured
 * replies, metadata contexts), as bytes: encoding and checked decoding only, no I/O, so every rule
 * is tested without a server. Numbers and layouts are those of the protocol document
 * ({@code NetworkBlockDevice/nbd}, {@code doc/proto.md}); all fields are big-endian.
 */
final class NbdWire {

    static final long NBDMAGIC = 0x4e42444d41474943L;
    static final long IHAVEOPT = 0x49484156454F5054L;
    static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    static final int REQUEST_MAGIC = 0x25609513;
    static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    static final int FLAG_FIXED_NEWSTYLE = 1;
    static final int FLAG_NO_ZEROES = 2;

    static final int OPT_ABORT = 2;
    static final int OPT_GO = 7;
    static final int OPT_STRUCTURED_REPLY = 8;
    static final int OPT_SET_META_CONTEXT = 10;

    static final int REP_ACK = 1;
    static final int REP_INFO = 3;
    static final int REP_META_CONTEXT = 4;
    static final int REP_ERROR_BIT = 0x80000000;

    static final int INFO_EXPORT = 0;
    static final int INFO_BLOCK_SIZE = 3;

    static final int CMD_READ = 0;
    static final int CMD_DISC = 2;
    static final int CMD_BLOCK_STATUS = 7;

    static final int TRANSMISSION_HAS_FLAGS = 1;

    static final int REPLY_FLAG_DONE = 1;
    static final int REPLY_TYPE_NONE = 0;
    static final int REPLY_TYPE_OFFSET_DATA = 1;
    static final int REPLY_TYPE_OFFSET_HOLE = 2;
    static final int REPLY_TYPE_BLOCK_STATUS = 5;
    static final int REPLY_TYPE_ERROR_BIT = 0x8000;

    /** The longest option reply or error message this client accepts: far above any real one. */
    static final int MAX_OPTION_REPLY = 1 << 16;
    /** Descriptors of one block status chunk: the protocol asks servers to send at most 2^20. */
    static final int MAX_STATUS_PAYLOAD = 4 + 8 * (1 << 20);

    private NbdWire() {}

    /** The server's greeting: magic, IHAVEOPT, handshake flags (18 bytes). Returns the flags. */
    static int greeting(ByteBuffer bytes) throws NbdException {
        long magic = bytes.getLong();
        long option = bytes.getLong();
        if (magic != NBDMAGIC) {
            throw new NbdException("not an NBD server (greeting 0x" + Long.toHexString(magic) + ")");
        }
        if (option != IHAVEOPT) {
            throw new NbdException("the NBD server speaks only the oldstyle handshake, not newstyle");
        }
        int flags = Short.toUnsignedInt(bytes.getShort());
        if ((flags & FLAG_FIXED_NEWSTYLE) == 0) {
            throw new NbdException("the NBD server does not speak the fixed newstyle handshake");
        }
        return flags;
    }

    /** The client's flags in answer to the greeting's: fixed newstyle, no zeroes if offered. */
    static ByteBuffer clientFlags(int serverFlags) {
        return ByteBuffer.allocate(4).putInt(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES)).flip();
    }

    static ByteBuffer option(int option, byte[] data) {
        return ByteBuffer.allocate(16 + data.length).putLong(IHAVEOPT).putInt(option).putInt(data.length).put(data)
                .flip();
    }

    /** {@code NBD_OPT_GO}'s data: the export name, then the information asked for. */
    static byte[] go(String export, int... infos) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(4 + name.length + 2 + 2 * infos.length);
        data.putInt(name.length).put(name).putShort((short) infos.length);
        for (int info : infos) {
            data.putShort((short) info);
        }
        return data.array();
    }

    /** {@code NBD_OPT_SET_META_CONTEXT}'s data: the export name, then the contexts asked for. */
    static byte[] setMetaContext(String export, List<String> contexts) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        List<byte[]> queries = contexts.stream().map(c -> c.getBytes(StandardCharsets.UTF_8)).toList();
        int length = 4 + name.length + 4 + queries.stream().mapToInt(q -> 4 + q.length).sum();
        ByteBuffer data = ByteBuffer.allocate(length).putInt(name.length).put(name).putInt(queries.size());
        for (byte[] query : queries) {
            data.putInt(query.length).put(query);
        }
        return data.array();
    }

    /** The fixed part of an option reply (20 bytes): the option it answers, its type, the data's length. */
    record OptionReply(int option, int type, int length) {

        static OptionReply decode(ByteBuffer bytes, int expectedOption) throws NbdException {
            long magic = bytes.getLong();
            if (magic != OPTION_REPLY_MAGIC) {
                throw new NbdException("bad option reply magic 0x" + Long.toHexString(magic));
            }
            OptionReply reply = new OptionReply(bytes.getInt(), bytes.getInt(), bytes.getInt());
            if (reply.option != expectedOption) {
                throw new NbdException("the server answered option " + reply.option + " to option " + expectedOption);
            }
            if (reply.length < 0 || reply.length > MAX_OPTION_REPLY) {
                throw new NbdException("option reply of " + Integer.toUnsignedString(reply.length) + " bytes is too long");
            }
            return reply;
        }

        boolean isError() {
            return (type & REP_ERROR_BIT) != 0;
        }
    }

    /** What an error reply to an option means, in words, with the server's own message if it sent one. */
    static String optionError(int option, int type, byte[] data) {
        String name = switch (type & ~REP_ERROR_BIT) {
            case 1 -> "not supported";
            case 2 -> "refused by the server's policy";
            case 3 -> "invalid";
            case 4 -> "not supported on this platform";
            case 5 -> "TLS is required";
            case 6 -> "no such export";
            case 7 -> "the server is shutting down";
            case 8 -> "block size constraints must be negotiated";
            case 9 -> "request too big";
            default -> "error " + (type & ~REP_ERROR_BIT);
        };
        String text = new String(data, StandardCharsets.UTF_8).strip();
        return optionName(option) + ": " + name + (text.isEmpty() ? "" : " (" + text + ")");
    }

    private static String optionName(int option) {
        return switch (option) {
            case OPT_GO -> "opening the export";
            case OPT_STRUCTURED_REPLY -> "structured replies";
            case OPT_SET_META_CONTEXT -> "metadata contexts";
            default -> "option " + option;
        };
    }

    /** {@code NBD_INFO_EXPORT}: the export's size and transmission flags. */
    record ExportInfo(long size, int flags) {}

    /** Block size constraints; absent from the reply, the protocol's defaults. */
    record BlockSizes(int minimum, int preferred, int maximum) {
        static final BlockSizes DEFAULT = new BlockSizes(1, 4096, 32 << 20);
    }

    /** The information type of an {@code NBD_REP_INFO} (its first two bytes). */
    static int infoType(ByteBuffer data) throws NbdException {
        if (data.remaining() < 2) {
            throw new NbdException("information reply of " + data.remaining() + " bytes");
        }
        return Short.toUnsignedInt(data.getShort());
    }

    static ExportInfo exportInfo(ByteBuffer data) throws NbdException {
        if (data.remaining() != 10) {
            throw new NbdException("export information of " + (data.remaining() + 2) + " bytes, not 12");
        }
        long size = data.getLong();
        int flags = Short.toUnsignedInt(data.getShort());
        if (size < 0) {
            throw new NbdException("export size " + Long.toUnsignedString(size) + " is out of range");
        }
        if ((flags & TRANSMISSION_HAS_FLAGS) == 0) {
            throw new NbdException("export flags 0x" + Integer.toHexString(flags) + " lack NBD_FLAG_HAS_FLAGS");
        }
        return new ExportInfo(size, flags);
    }

    static BlockSizes blockSizes(ByteBuffer data) throws NbdException {
        if (data.remaining() != 12) {
            throw new NbdException("block size information of " + (data.remaining() + 2) + " bytes, not 14");
        }
        int minimum = data.getInt();
        int preferred = data.getInt();
        int maximum = data.getInt();
        boolean powersOfTwo = Integer.bitCount(minimum) == 1 && Integer.bitCount(preferred) == 1;
        if (!powersOfTwo || minimum > 64 << 10 || preferred < minimum || maximum < minimum || maximum < 0) {
            throw new NbdException("block sizes " + minimum + "/" + preferred + "/" + maximum + " are inconsistent");
        }
        return new BlockSizes(minimum, preferred, maximum);
    }

    /** {@code NBD_REP_META_CONTEXT}: the id the server gives a context, and its name. */
    record MetaContext(int id, String name) {
        static MetaContext decode(ByteBuffer data) throws NbdException {
            if (data.remaining() < 5) {
                throw new NbdException("metadata context reply of " + data.remaining() + " bytes");
            }
            int id = data.getInt();
            byte[] name = new byte[data.remaining()];
            data.get(name);
            return new MetaContext(id, new String(name, StandardCharsets.UTF_8));
        }
    }

    static ByteBuffer request(int type, int flags, long cookie, long offset, int length) {
        return ByteBuffer.allocate(28).putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type)
                .putLong(cookie).putLong(offset).putInt(length).flip();
    }

    /**
     * The header of a reply: a simple reply (16 bytes; then an error, or nothing) or a structured
     * chunk (20 bytes). {@link #HEADER_PEEK} bytes tell which; the rest follows.
     */
    static final int HEADER_PEEK = 4;

    record Chunk(boolean structured, int flags, int type, long cookie, int length, int error) {

        boolean done() {
            return !structured || (flags & REPLY_FLAG_DONE) != 0;
        }

        boolean isError() {
            return structured ? (type & REPLY_TYPE_ERROR_BIT) != 0 : error != 0;
        }

        /** The rest of the header after the magic: 12 bytes of a simple reply, 16 of a structured one. */
        static int remainder(int magic) throws NbdException {
            if (magic == SIMPLE_REPLY_MAGIC) {
                return 12;
            }
            if (magic == STRUCTURED_REPLY_MAGIC) {
                return 16;
            }
            throw new NbdException("bad reply magic 0x" + Integer.toHexString(magic));
        }

        static Chunk decode(int magic, ByteBuffer rest) throws NbdException {
            if (magic == SIMPLE_REPLY_MAGIC) {
                int error = rest.getInt();
                return new Chunk(false, 0, 0, rest.getLong(), 0, error);
            }
            remainder(magic);
            int flags = Short.toUnsignedInt(rest.getShort());
            int type = Short.toUnsignedInt(rest.getShort());
            long cookie = rest.getLong();
            int length = rest.getInt();
            int limit = type == REPLY_TYPE_BLOCK_STATUS ? MAX_STATUS_PAYLOAD : MAX_PAYLOAD_LIMIT;
            if (length < 0 || length > limit) {
                throw new NbdException("reply chunk of " + Integer.toUnsignedString(length) + " bytes is too long");
            }
            return new Chunk(true, flags, type, cookie, length, 0);
        }
    }

    /** Reads are split to at most this, whatever the server says: QEMU's own limit (32 MiB). */
    static final int MAX_PAYLOAD_LIMIT = (32 << 20) + 8;

    /** An {@code OFFSET_HOLE} chunk's payload: where the zeros are. */
    record Hole(long offset, int length) {
        static Hole decode(ByteBuffer payload) throws NbdException {
            if (payload.remaining() != 12) {
                throw new NbdException("hole chunk of " + payload.remaining() + " bytes, not 12");
            }
            Hole hole = new Hole(payload.getLong(), payload.getInt());
            if (hole.length == 0) {
                throw new NbdException("hole chunk of length 0");
            }
            return hole;
        }
    }

    /** An error chunk's payload: errno as the protocol numbers it, and the server's message. */
    static String chunkError(ByteBuffer payload) throws NbdException {
        if (payload.remaining() < 6) {
            throw new NbdException("error chunk of " + payload.remaining() + " bytes");
        }
        int error = payload.getInt();
        int length = Short.toUnsignedInt(payload.getShort());
        if (length > payload.remaining()) {
            throw new NbdException("error chunk's message of " + length + " bytes overruns its " + payload.remaining());
        }
        byte[] message = new byte[length];
        payload.get(message);
        String text = new String(message, StandardCharsets.UTF_8).strip();
        return errorName(error) + (text.isEmpty() ? "" : " (" + text + ")");
    }

    static String errorName(int error) {
        return switch (error) {
            case 1 -> "operation not permitted";
            case 5 -> "input/output error";
            case 12 -> "out of memory";
            case 22 -> "invalid argument";
            case 28 -> "no space left";
            case 75 -> "value too large";
            case 95 -> "not supported";
            case 108 -> "server shutting down";
            default -> "error " + error;
        };
    }

    /** One block status descriptor: {@code length} bytes with {@code flags}. */
    record Status(long length, int flags) {}

    /** A block status chunk: the context it describes and its descriptors, in order. */
    record StatusChunk(int context, List<Status> extents) {
        static StatusChunk decode(ByteBuffer payload) throws NbdException {
            if (payload.remaining() < 12 || (payload.remaining() - 4) % 8 != 0) {
                throw new NbdException("block status chunk of " + payload.remaining() + " bytes");
            }
            int context = payload.getInt();
            List<Status> extents = new ArrayList<>((payload.remaining()) / 8);
            while (payload.hasRemaining()) {
                long length = Integer.toUnsignedLong(payload.getInt());
                if (length == 0) {
                    throw new NbdException("block status descriptor of length 0");
                }
                extents.add(new Status(length, payload.getInt()));
            }
            return new StatusChunk(context, extents);
        }
    }
}
