package dev.standin.snapshot.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The QEMU guest agent ({@code qemu-ga} inside the guest), reached through the host end of its
 * virtio-serial port: a UNIX socket. The protocol is QMP's JSON without a greeting; a connection
 * may find replies to an earlier client's commands in the pipe, so it first synchronises with
 * {@code guest-sync-delimited} (the reply follows a 0xFF byte) and discards everything before.
 * Used to freeze the guest's filesystems around a snapshot, as VSS quiesces a Windows guest, and
 * to prove that a failed-over VM's operating system is up.
 */
public final class GuestAgent implements AutoCloseable {

    private final Path socket;
    private final SocketChannel channel;
    private final Selector selector;
    private final Duration timeout;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final ByteBuffer buffer = ByteBuffer.allocate(4096).flip();

    private GuestAgent(Path socket, SocketChannel channel, Selector selector, Duration timeout) {
        this.socket = socket;
        this.channel = channel;
        this.selector = selector;
        this.timeout = timeout;
    }

    /** Connects and synchronises; an agent that does not answer within {@code timeout} is refused. */
    public static GuestAgent connect(Path socket, Duration timeout) throws QmpException {
        SocketChannel channel = null;
        Selector selector = null;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.configureBlocking(false);
            selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
            GuestAgent agent = new GuestAgent(socket, channel, selector, timeout);
            agent.sync();
            return agent;
        } catch (IOException e) {
            close(channel, selector);
            throw new QmpException("guest agent at " + socket + ": " + reason(e), null);
        } catch (QmpException | RuntimeException e) {
            close(channel, selector);
            throw e;
        }
    }

    private void sync() throws IOException, QmpException {
        long id = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE >> 1);
        write(new byte[] {(byte) 0xff});
        send("guest-sync-delimited", QmpClient.args().put("id", id));
        long deadline = System.nanoTime() + timeout.toNanos();
        int b;
        do {
            b = readByte(deadline, "guest-sync-delimited");
        } while (b != 0xff);
        while (true) {
            JsonNode reply = readReply(deadline, "guest-sync-delimited");
            if (reply.path("return").asLong(-1) == id) {
                return;
            }
        }
    }

    /** {@code guest-ping}: the agent answers commands. */
    public void ping() throws QmpException {
        execute("guest-ping");
    }

    /** {@code guest-get-osinfo}: the guest's operating system, as the agent reports it. */
    public JsonNode osInfo() throws QmpException {
        return execute("guest-get-osinfo");
    }

    /**
     * {@code guest-shutdown} (power down): the guest's own orderly shutdown. An agent that obeys
     * sends no answer (its guest is going down), so only a refusal within {@code wait} is an error.
     */
    public void shutdown(Duration wait) throws QmpException {
        try {
            send("guest-shutdown", QmpClient.args().put("mode", "powerdown"));
        } catch (IOException e) {
            throw new QmpException("guest agent at " + socket + ": guest-shutdown: " + reason(e), null);
        }
        JsonNode reply;
        try {
            reply = readReply(System.nanoTime() + wait.toNanos(), "guest-shutdown");
        } catch (IOException goingDown) {
            return; // no answer, or the port closed: the guest is shutting down
        }
        if (reply.has("error")) {
            throw new QmpException("guest agent: guest-shutdown: " + reply.path("error").path("desc").asText(),
                    reply.path("error").path("class").asText());
        }
    }

    /** Freezes every freezable filesystem of the guest; returns how many. */
    int freeze() throws QmpException {
        return execute("guest-fsfreeze-freeze").asInt();
    }

    /** Thaws the guest's filesystems; returns how many were frozen. */
    int thaw() throws QmpException {
        return execute("guest-fsfreeze-thaw").asInt();
    }

    /** {@code frozen} or {@code thawed}. */
    String status() throws QmpException {
        return execute("guest-fsfreeze-status").asText();
    }

    private JsonNode execute(String command) throws QmpException {
        try {
            send(command, null);
            JsonNode reply = readReply(System.nanoTime() + timeout.toNanos(), command);
            if (reply.has("error")) {
                JsonNode error = reply.path("error");
                throw new QmpException("guest agent: " + command + ": " + error.path("desc").asText(), error.path("class").asText());
            }
            return reply.path("return");
        } catch (IOException e) {
            throw new QmpException("guest agent at " + socket + ": " + command + ": " + reason(e), null);
        }
    }

    private void send(String command, ObjectNode arguments) throws IOException {
        ObjectNode message = QmpClient.args().put("execute", command);
        if (arguments != null) {
            message.set("arguments", arguments);
        }
        write((QmpClient.json().writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private void write(byte[] bytes) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(bytes);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (out.hasRemaining()) {
            if (channel.write(out) == 0) {
                // A command is a few bytes: a port that takes none is a guest that reads nothing.
                if (System.nanoTime() > deadline) {
                    throw new IOException("the guest agent's port took nothing for " + timeout.toSeconds() + " s");
                }
                Thread.onSpinWait();
            }
        }
    }

    /** The next JSON object the agent sends (one per line). */
    private JsonNode readReply(long deadline, String what) throws IOException {
        line.reset();
        while (true) {
            int b = readByte(deadline, what);
            if (b == '\n') {
                String text = line.toString(StandardCharsets.UTF_8).strip();
                line.reset();
                if (!text.isEmpty()) {
                    return QmpClient.json().readTree(text);
                }
            } else if (b != 0xff) {
                line.write(b);
            }
        }
    }

    private int readByte(long deadline, String what) throws IOException {
        while (!buffer.hasRemaining()) {
            buffer.clear();
            int n = channel.read(buffer);
            buffer.flip();
            if (n < 0) {
                throw new IOException("the guest agent's port closed");
            }
            if (n == 0) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0 || selector.select(left) == 0) {
                    if (Thread.currentThread().isInterrupted()) {
                        throw new InterruptedIOException("interrupted while waiting for the guest agent");
                    }
                    if (System.nanoTime() >= deadline) {
                        throw new IOException("no answer to " + what + " in " + timeout.toSeconds()
                                + " s (is qemu-ga running in the guest?)");
                    }
                }
                selector.selectedKeys().clear();
            }
        }
        return buffer.get() & 0xff;
    }

    private static String reason(IOException e) {
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message;
    }

    @Override
    public void close() {
        close(channel, selector);
    }

    private static void close(SocketChannel channel, Selector selector) {
        try {
            if (channel != null) {
                channel.close();
            }
            if (selector != null) {
                selector.close();
            }
        } catch (IOException e) {
            // nothing is left to release
        }
    }
}
