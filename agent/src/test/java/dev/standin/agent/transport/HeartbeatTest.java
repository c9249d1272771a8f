package dev.standin.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A receiver's keep-alives: one per beat in which its work advanced, none once closed; the sender skips and counts them. */
class HeartbeatTest {

    @Test
    void beatsOnlyWhenTheWorkAdvanced() throws Exception {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        MessageChannel receiver = new MessageChannel(InputStream.nullInputStream(), wire);
        try (Heartbeat heartbeat = Heartbeat.start(receiver, Duration.ofHours(1))) { // beats by hand below
            heartbeat.beat(); // nothing done yet
            heartbeat.phase("signing replica", 1 << 30);
            heartbeat.done(8 << 20);
            heartbeat.beat();
            heartbeat.beat(); // nothing new since
            heartbeat.done(16 << 20);
            heartbeat.beat();
        }
        List<Message> sent = new ArrayList<>();
        MessageChannel raw = new MessageChannel(new ByteArrayInputStream(wire.toByteArray()), java.io.OutputStream.nullOutputStream());
        for (Optional<Message> m = raw.receiveAny(); m.isPresent(); m = raw.receiveAny()) {
            sent.add(m.get());
        }
        assertEquals(List.of(new Message.KeepAlive(2), new Message.KeepAlive(3)), sent);
    }

    @Test
    void theSenderNeverSeesKeepAlivesButCountsThem() throws Exception {
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        MessageChannel receiver = new MessageChannel(InputStream.nullInputStream(), wire);
        receiver.send(new Message.KeepAlive(1));
        receiver.send(new Message.KeepAlive(2));
        receiver.send(new Message.Committed(new byte[dev.standin.delta.ImageDigest.LENGTH], 7));
        MessageChannel sender = new MessageChannel(new ByteArrayInputStream(wire.toByteArray()), java.io.OutputStream.nullOutputStream());
        Message.Committed c = assertInstanceOf(Message.Committed.class, sender.receive());
        assertEquals(7, c.pointId());
        assertEquals(2, sender.keepAlives());
        assertEquals(Optional.empty(), sender.receiveOrEnd());
    }
}
