package dev.standin.snapshot.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A QEMU Machine Protocol client on a UNIX socket, spoken directly (JSON lines). A reader thread
 * sorts what QEMU sends into replies and asynchronous events (BLOCK_JOB_READY, JOB_STATUS_CHANGE,
 * ...), which QEMU interleaves freely with replies; commands carry an {@code id} so a reply is
 * never taken for another's. When QEMU goes away, every waiting call fails at once instead of
 * running into its timeout.
 */
public final class QmpClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Put on the queues when the connection ends, so waiters wake up. */
    private static final JsonNode CLOSED = JSON.createObjectNode().put("closed", true);

    private final Path socket;
    private final SocketChannel channel;
    private final Duration timeout;
    private final LinkedBlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
    private final List<JsonNode> seenEvents = new ArrayList<>();
    private final AtomicLong ids = new AtomicLong();
    private final Thread reader;
    private volatile String closedReason;

    private QmpClient(Path socket, SocketChannel channel, Duration timeout) {
        this.socket = socket;
        this.channel = channel;
        this.timeout = timeout;
        this.reader = new Thread(this::readLoop, "standin-qmp-" + socket.getFileName());
        reader.setDaemon(true);
    }

    /** Connects, reads the greeting and leaves capabilities negotiation mode. */
    public static QmpClient connect(Path socket, Duration timeout) throws QmpException {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            throw new QmpException("cannot connect to QMP socket " + socket + " (is the VM running?): " + e.getMessage(),
                    null, e);
        }
        QmpClient client = new QmpClient(socket, channel, timeout);
        client.reader.start();
        try {
            JsonNode greeting = client.poll(client.replies, timeout, "the QMP greeting");
            if (!greeting.has("QMP")) {
                throw new QmpException("QMP socket " + socket + " sent " + greeting + " instead of a greeting", null);
            }
            client.execute("qmp_capabilities", null);
            return client;
        } catch (QmpException e) {
            client.close();
            throw e;
        }
    }

    public Path socket() {
        return socket;
    }

    /** Runs a command and returns its {@code return} value; a QMP error becomes a {@link QmpException}. */
    public synchronized JsonNode execute(String command, JsonNode arguments) throws QmpException {
        return execute(command, arguments, timeout);
    }

    public synchronized JsonNode execute(String command, JsonNode arguments, Duration limit) throws QmpException {
        String id = "standin-" + ids.incrementAndGet();
        ObjectNode request = JSON.createObjectNode().put("execute", command).put("id", id);
        if (arguments != null) {
            request.set("arguments", arguments);
        }
        send(request);
        while (true) {
            JsonNode reply = poll(replies, limit, "the reply to " + command);
            if (!id.equals(reply.path("id").asText())) {
                continue; // a late reply to a command whose wait timed out
            }
            if (reply.has("error")) {
                JsonNode error = reply.get("error");
                throw new QmpException(command + ": " + error.path("desc").asText(), error.path("class").asText());
            }
            return reply.path("return");
        }
    }

    /** {@code human-monitor-command}: the HMP text interface, for {@code qemu-io} in tests and diagnostics. */
    public String human(String commandLine) throws QmpException {
        return execute("human-monitor-command", JSON.createObjectNode().put("command-line", commandLine)).asText();
    }

    /**
     * Waits for an event matching {@code filter} that arrived since the client connected (events
     * seen earlier by other waits count too, so an event that raced ahead of its wait is not lost).
     */
    public JsonNode awaitEvent(Predicate<JsonNode> filter, Duration limit, String what) throws QmpException {
        long deadline = System.nanoTime() + limit.toNanos();
        synchronized (seenEvents) {
            for (JsonNode e : seenEvents) {
                if (filter.test(e)) {
                    return e;
                }
            }
        }
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new QmpException("timed out after " + limit.toSeconds() + " s waiting for " + what, null);
            }
            JsonNode event = poll(events, Duration.ofNanos(left), what);
            if (filter.test(event)) {
                return event;
            }
        }
    }

    /** Every event QEMU sent since the client connected, oldest first. */
    public List<JsonNode> eventsSoFar() {
        synchronized (seenEvents) {
            return List.copyOf(seenEvents);
        }
    }

    public static ObjectNode args() {
        return JSON.createObjectNode();
    }

    public static ObjectMapper json() {
        return JSON;
    }

    private void send(JsonNode request) throws QmpException {
        if (closedReason != null) {
            throw new QmpException("QMP connection to " + socket + " is closed: " + closedReason, null);
        }
        try {
            ByteBuffer bytes = ByteBuffer.wrap((JSON.writeValueAsString(request) + "\n").getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        } catch (IOException e) {
            throw new QmpException("cannot write to QMP socket " + socket + " (VM gone?): " + e.getMessage(), null, e);
        }
    }

    private JsonNode poll(LinkedBlockingQueue<JsonNode> queue, Duration limit, String what) throws QmpException {
        JsonNode node;
        try {
            node = queue.poll(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted waiting for " + what, null, e);
        }
        if (node == null) {
            throw new QmpException("timed out after " + limit.toSeconds() + " s waiting for " + what + " on " + socket,
                    null);
        }
        if (node == CLOSED) {
            queue.add(CLOSED); // for the next waiter
            throw new QmpException("QEMU closed the monitor connection " + socket + " while waiting for " + what
                    + " (the VM is gone?)" + (closedReason == null ? "" : ": " + closedReason), null);
        }
        return node;
    }

    private void readLoop() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
                StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode message = JSON.readTree(line);
                if (message.has("event")) {
                    synchronized (seenEvents) {
                        seenEvents.add(message);
                    }
                    events.add(message);
                } else {
                    replies.add(message);
                }
            }
            closedReason = "end of stream";
        } catch (IOException e) {
            closedReason = e.getMessage();
        } finally {
            if (closedReason == null) {
                closedReason = "reader stopped";
            }
            replies.add(CLOSED);
            events.add(CLOSED);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing a socket we only read from cannot lose anything
        }
    }
}
