package dev.standin.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The agent's frames: round trips, and every kind of damage refused with a message. */
class AgentWireTest {

    private static byte[] frame(int type, byte[] payload) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AgentWire.write(out, type, payload);
        return out.toByteArray();
    }

    @Test
    void framesAndRunRequestsRoundTrip() throws IOException {
        RunRequest request = new RunRequest("standin 1 built t", Path.of("/srv/work"), true, false, 4242, "mnt:[4026531841]",
                Map.of("HOME", "/root", "SSH_ORIGINAL_COMMAND", "standin serve --root 'a b'"),
                List.of("sync", "disk.img", "host:/r/disk.img", "", "ünïcode"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AgentWire.write(out, AgentWire.RUN, request.encode());
        AgentWire.writeExit(out, 130);
        ByteArrayInputStream in = new ByteArrayInputStream(out.toByteArray());
        AgentWire.Frame run = AgentWire.read(in);
        assertEquals(AgentWire.RUN, run.type());
        assertEquals(request, RunRequest.decode(run.payload()));
        assertEquals(130, AgentWire.read(in).exitStatus());
        assertNull(AgentWire.read(in), "clean end between frames");
    }

    @Test
    void everyFlippedBitIsRefused() throws IOException {
        byte[] good = frame(AgentWire.STDOUT, "hello, world\n".getBytes());
        for (int bit = 0; bit < good.length * 8; bit++) {
            byte[] bad = good.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThrows(IOException.class, () -> AgentWire.read(new ByteArrayInputStream(bad)), "bit " + bit);
        }
    }

    @Test
    void truncatedFramesAreRefusedWithAMessage() throws IOException {
        byte[] good = frame(AgentWire.STDERR, new byte[100]);
        for (int length = 1; length < good.length; length++) {
            byte[] cut = Arrays.copyOf(good, length);
            IOException e = assertThrows(IOException.class, () -> AgentWire.read(new ByteArrayInputStream(cut)));
            assertTrue(e.getMessage().contains("ends inside a frame"), e.getMessage());
        }
    }

    @Test
    void oversizedOrForeignFramesAreRefusedBeforeAllocating() throws IOException {
        byte[] good = frame(AgentWire.STDIN, new byte[0]);
        byte[] huge = good.clone();
        huge[8] = 0x7f; // length 2 GiB
        IOException e = assertThrows(IOException.class, () -> AgentWire.read(new ByteArrayInputStream(huge)));
        assertTrue(e.getMessage().contains("claims"), e.getMessage());
        byte[] foreign = "SSH-2.0-OpenSSH_9.2\r\n".getBytes();
        e = assertThrows(IOException.class, () -> AgentWire.read(new ByteArrayInputStream(foreign)));
        assertTrue(e.getMessage().contains("not a standin agent frame"), e.getMessage());
        byte[] future = good.clone();
        future[4] = AgentWire.VERSION + 1;
        e = assertThrows(IOException.class, () -> AgentWire.read(new ByteArrayInputStream(future)));
        assertTrue(e.getMessage().contains("version " + (AgentWire.VERSION + 1)), e.getMessage());
    }

    @Test
    void malformedRunRequestsAreRefused() {
        SplittableRandom random = new SplittableRandom(7);
        byte[] good = new RunRequest("b", Path.of("/"), false, false, 0, "", Map.of("HOME", "/root"), List.of("sync", "a", "b"))
                .encode();
        for (int i = 0; i < 2000; i++) {
            byte[] bad = good.clone();
            bad[random.nextInt(bad.length)] = (byte) random.nextInt(256);
            try {
                RunRequest decoded = RunRequest.decode(bad);
                // A change inside a string's bytes can still decode: then it is a request like any other.
                assertTrue(decoded.workingDirectory().isAbsolute());
            } catch (AgentWire.AgentWireException expected) {
                assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank());
            }
        }
        byte[] smuggled = AgentWire.encodeStrings(List.of("b", "/", "0", "0", "0", "", "1", "LD_PRELOAD", "/tmp/x.so", "sync"));
        AgentWire.AgentWireException e = assertThrows(AgentWire.AgentWireException.class,
                () -> RunRequest.decode(smuggled));
        assertTrue(e.getMessage().contains("LD_PRELOAD"), e.getMessage());
        byte[] relative = AgentWire.encodeStrings(List.of("b", "work", "0", "0", "0", "", "0", "sync"));
        assertThrows(AgentWire.AgentWireException.class, () -> RunRequest.decode(relative));
        assertArrayEquals(new byte[] {0, 0, 0, 0}, AgentWire.encodeStrings(List.of()));
    }
}
