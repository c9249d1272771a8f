package dev.standin.snapshot.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The NBD codec against the protocol document's layouts, without a server. */
class NbdWireTest {

    private static ByteBuffer greeting(long magic, long option, int flags) {
        return ByteBuffer.allocate(18).putLong(magic).putLong(option).putShort((short) flags).flip();
    }

    @Test
    void greetingOfAFixedNewstyleServerIsAcceptedAndAnsweredWithTheFlagsItOffers() throws Exception {
        int flags = NbdWire.greeting(greeting(NbdWire.NBDMAGIC, NbdWire.IHAVEOPT, 3));
        assertEquals(3, flags);
        assertEquals(3, NbdWire.clientFlags(flags).getInt());
        assertEquals(1, NbdWire.clientFlags(1).getInt(), "no zeroes only when offered");
    }

    @Test
    void greetingsThisClientCannotSpeakAreRefusedInWords() {
        assertTrue(assertThrows(NbdException.class, () -> NbdWire.greeting(greeting(0x1234, NbdWire.IHAVEOPT, 3)))
                .getMessage().contains("not an NBD server"));
        assertTrue(assertThrows(NbdException.class,
                () -> NbdWire.greeting(greeting(NbdWire.NBDMAGIC, 0x00420281861253L, 0))).getMessage().contains("oldstyle"));
        assertTrue(assertThrows(NbdException.class, () -> NbdWire.greeting(greeting(NbdWire.NBDMAGIC, NbdWire.IHAVEOPT, 2)))
                .getMessage().contains("fixed newstyle"));
    }

    @Test
    void optionsGoAndMetaContextsHaveTheDocumentedLayout() {
        ByteBuffer go = NbdWire.option(NbdWire.OPT_GO, NbdWire.go("disk", NbdWire.INFO_BLOCK_SIZE));
        assertEquals(NbdWire.IHAVEOPT, go.getLong());
        assertEquals(7, go.getInt());
        assertEquals(4 + 4 + 2 + 2, go.getInt());
        assertEquals(4, go.getInt());
        byte[] name = new byte[4];
        go.get(name);
        assertEquals("disk", new String(name, StandardCharsets.UTF_8));
        assertEquals(1, go.getShort());
        assertEquals(3, go.getShort());
        assertFalse(go.hasRemaining());

        ByteBuffer meta = ByteBuffer.wrap(NbdWire.setMetaContext("d", List.of("base:allocation", "qemu:dirty-bitmap:b")));
        assertEquals(1, meta.getInt());
        assertEquals('d', meta.get());
        assertEquals(2, meta.getInt());
        assertEquals(15, meta.getInt());
        meta.position(meta.position() + 15);
        assertEquals(19, meta.getInt());
        meta.position(meta.position() + 19);
        assertFalse(meta.hasRemaining());
    }

    private static ByteBuffer optionReply(long magic, int option, int type, int length) {
        return ByteBuffer.allocate(20).putLong(magic).putInt(option).putInt(type).putInt(length).flip();
    }

    @Test
    void optionRepliesAreCheckedAndErrorsNamed() throws Exception {
        NbdWire.OptionReply ack = NbdWire.OptionReply.decode(optionReply(NbdWire.OPTION_REPLY_MAGIC, 7, 1, 0), 7);
        assertFalse(ack.isError());
        assertThrows(NbdException.class, () -> NbdWire.OptionReply.decode(optionReply(1, 7, 1, 0), 7));
        assertThrows(NbdException.class, () -> NbdWire.OptionReply.decode(optionReply(NbdWire.OPTION_REPLY_MAGIC, 8, 1, 0), 7));
        assertThrows(NbdException.class, () -> NbdWire.OptionReply.decode(optionReply(NbdWire.OPTION_REPLY_MAGIC, 7, 1, -1), 7));
        assertThrows(NbdException.class,
                () -> NbdWire.OptionReply.decode(optionReply(NbdWire.OPTION_REPLY_MAGIC, 7, 1, 1 << 20), 7));
        NbdWire.OptionReply unknown = NbdWire.OptionReply.decode(
                optionReply(NbdWire.OPTION_REPLY_MAGIC, 7, 0x80000006, 0), 7);
        assertTrue(unknown.isError());
        assertEquals("opening the export: no such export (export 'x' not present)",
                NbdWire.optionError(7, 0x80000006, "export 'x' not present".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void exportInformationMustBeTwelveBytesWithFlags() throws Exception {
        NbdWire.ExportInfo info = NbdWire.exportInfo(ByteBuffer.allocate(10).putLong(1 << 30).putShort((short) 3).flip());
        assertEquals(1 << 30, info.size());
        assertThrows(NbdException.class, () -> NbdWire.exportInfo(ByteBuffer.allocate(9)));
        assertThrows(NbdException.class, () -> NbdWire.exportInfo(ByteBuffer.allocate(10).putLong(1).putShort((short) 0).flip()));
        assertThrows(NbdException.class, () -> NbdWire.exportInfo(ByteBuffer.allocate(10).putLong(-1).putShort((short) 1).flip()));
        assertThrows(NbdException.class, () -> NbdWire.infoType(ByteBuffer.allocate(1)));
    }

    @Test
    void blockSizesMustBeConsistent() throws Exception {
        assertEquals(new NbdWire.BlockSizes(1, 4096, 32 << 20),
                NbdWire.blockSizes(ByteBuffer.allocate(12).putInt(1).putInt(4096).putInt(32 << 20).flip()));
        assertThrows(NbdException.class, () -> NbdWire.blockSizes(ByteBuffer.allocate(12).putInt(3).putInt(4096).putInt(1 << 20).flip()));
        assertThrows(NbdException.class, () -> NbdWire.blockSizes(ByteBuffer.allocate(12).putInt(4096).putInt(512).putInt(1 << 20).flip()));
        assertThrows(NbdException.class, () -> NbdWire.blockSizes(ByteBuffer.allocate(12).putInt(512).putInt(512).putInt(256).flip()));
        assertThrows(NbdException.class, () -> NbdWire.blockSizes(ByteBuffer.allocate(8)));
    }

    @Test
    void requestsHaveTheDocumentedLayout() {
        ByteBuffer request = NbdWire.request(NbdWire.CMD_BLOCK_STATUS, 8, 42, 1L << 33, 65536);
        assertEquals(28, request.remaining());
        assertEquals(NbdWire.REQUEST_MAGIC, request.getInt());
        assertEquals(8, request.getShort());
        assertEquals(7, request.getShort());
        assertEquals(42, request.getLong());
        assertEquals(1L << 33, request.getLong());
        assertEquals(65536, request.getInt());
    }

    @Test
    void replyHeadersAreSimpleOrStructuredAndBounded() throws Exception {
        assertEquals(12, NbdWire.Chunk.remainder(NbdWire.SIMPLE_REPLY_MAGIC));
        assertEquals(16, NbdWire.Chunk.remainder(NbdWire.STRUCTURED_REPLY_MAGIC));
        assertThrows(NbdException.class, () -> NbdWire.Chunk.remainder(0x12345678));

        NbdWire.Chunk simple = NbdWire.Chunk.decode(NbdWire.SIMPLE_REPLY_MAGIC, ByteBuffer.allocate(12).putInt(5).putLong(9).flip());
        assertTrue(simple.isError());
        assertTrue(simple.done());
        assertEquals(9, simple.cookie());

        NbdWire.Chunk data = NbdWire.Chunk.decode(NbdWire.STRUCTURED_REPLY_MAGIC,
                ByteBuffer.allocate(16).putShort((short) 0).putShort((short) 1).putLong(3).putInt(4104).flip());
        assertFalse(data.done());
        assertFalse(data.isError());
        assertEquals(4104, data.length());
        NbdWire.Chunk error = NbdWire.Chunk.decode(NbdWire.STRUCTURED_REPLY_MAGIC,
                ByteBuffer.allocate(16).putShort((short) 1).putShort((short) 0x8001).putLong(3).putInt(6).flip());
        assertTrue(error.done());
        assertTrue(error.isError());
        assertThrows(NbdException.class, () -> NbdWire.Chunk.decode(NbdWire.STRUCTURED_REPLY_MAGIC,
                ByteBuffer.allocate(16).putShort((short) 1).putShort((short) 1).putLong(3).putInt(64 << 20).flip()));
        assertThrows(NbdException.class, () -> NbdWire.Chunk.decode(NbdWire.STRUCTURED_REPLY_MAGIC,
                ByteBuffer.allocate(16).putShort((short) 1).putShort((short) 1).putLong(3).putInt(-8).flip()));
    }

    @Test
    void holesErrorsAndBlockStatusPayloadsAreChecked() throws Exception {
        assertEquals(new NbdWire.Hole(4096, 512), NbdWire.Hole.decode(ByteBuffer.allocate(12).putLong(4096).putInt(512).flip()));
        assertThrows(NbdException.class, () -> NbdWire.Hole.decode(ByteBuffer.allocate(12).putLong(4096).putInt(0).flip()));
        assertThrows(NbdException.class, () -> NbdWire.Hole.decode(ByteBuffer.allocate(11)));

        byte[] text = "bad sector".getBytes(StandardCharsets.UTF_8);
        ByteBuffer error = ByteBuffer.allocate(6 + text.length).putInt(5).putShort((short) text.length).put(text).flip();
        assertEquals("input/output error (bad sector)", NbdWire.chunkError(error));
        assertThrows(NbdException.class, () -> NbdWire.chunkError(ByteBuffer.allocate(6).putInt(5).putShort((short) 1).flip()));
        assertThrows(NbdException.class, () -> NbdWire.chunkError(ByteBuffer.allocate(5)));

        NbdWire.StatusChunk status = NbdWire.StatusChunk.decode(
                ByteBuffer.allocate(20).putInt(1).putInt(65536).putInt(3).putInt(-1).putInt(0).flip());
        assertEquals(1, status.context());
        assertEquals(List.of(new NbdWire.Status(65536, 3), new NbdWire.Status(0xffffffffL, 0)), status.extents());
        assertThrows(NbdException.class, () -> NbdWire.StatusChunk.decode(ByteBuffer.allocate(4).putInt(1).flip()));
        assertThrows(NbdException.class, () -> NbdWire.StatusChunk.decode(ByteBuffer.allocate(16)));
        assertThrows(NbdException.class, () -> NbdWire.StatusChunk.decode(ByteBuffer.allocate(12).putInt(1).putInt(0).putInt(0).flip()));
    }

    @Test
    void metaContextRepliesCarryAnIdAndAName() throws Exception {
        byte[] name = "base:allocation".getBytes(StandardCharsets.UTF_8);
        NbdWire.MetaContext context = NbdWire.MetaContext.decode(ByteBuffer.allocate(4 + name.length).putInt(7).put(name).flip());
        assertEquals(new NbdWire.MetaContext(7, "base:allocation"), context);
        assertThrows(NbdException.class, () -> NbdWire.MetaContext.decode(ByteBuffer.allocate(4)));
    }
}
