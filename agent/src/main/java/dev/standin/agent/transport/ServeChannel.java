package dev.standin.agent.transport;

import dev.standin.agent.sync.CountingOutputStream;
import dev.standin.failure.StandinException;
import java.io.IOException;

/**
 * One exec channel running {@code standin serve}, with the streams that count what crosses it and,
 * once {@link #greet greeted}, the receiver's Hello. Closing it ends the channel, not the connection.
 */
final class ServeChannel implements AutoCloseable {

    private final SshConnection.Exec exec;
    private final CountingInputStream received;
    private final CountingOutputStream sent;
    private final MessageChannel messages;
    private Message.Hello hello;

    private ServeChannel(SshConnection.Exec exec, SshOptions ssh) {
        this.exec = exec;
        this.received = new CountingInputStream(exec.input());
        this.sent = new CountingOutputStream(ssh.bytesPerSecond() > 0
                ? new RateLimitedOutputStream(exec.output(), ssh.bytesPerSecond()) : exec.output());
        this.messages = new MessageChannel(received, sent);
    }

    /** Starts {@code command} (a {@code standin serve}) on {@code connection}. */
    static ServeChannel open(SshConnection connection, String command, SshOptions ssh) throws StandinException {
        return new ServeChannel(connection.exec(command), ssh);
    }

    /** Both preambles and Hellos; the receiver's Hello is checked by the cycle, which knows what it needs. */
    Message.Hello greet() throws IOException {
        messages.sendPreamble();
        messages.send(Protocol.hello());
        messages.expectPreamble();
        hello = messages.expect(Message.Hello.class);
        return hello;
    }

    /** The receiver's Hello; null before {@link #greet}. */
    Message.Hello hello() {
        return hello;
    }

    /** Whether the channel may still carry a cycle: the remote command has not ended or closed its output. */
    boolean isOpen() {
        return exec.isOpen();
    }

    SshConnection.Exec exec() {
        return exec;
    }

    MessageChannel messages() {
        return messages;
    }

    CountingInputStream received() {
        return received;
    }

    CountingOutputStream sent() {
        return sent;
    }

    @Override
    public void close() {
        exec.close();
    }
}
