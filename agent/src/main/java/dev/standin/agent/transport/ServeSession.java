package dev.standin.agent.transport;

import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.io.IOException;

/**
 * One short session with a replica host's receiver that is not a cycle (a scrub, a VM point to
 * record, a boot check): its own SSH connection, {@code serve --root} the location's directory,
 * the greetings, then one question and its answer. A receiver's failure becomes this side's.
 */
final class ServeSession {

    /** The question and the answer, once both sides greeted. */
    @FunctionalInterface
    interface Exchange<T> {
        T with(MessageChannel channel, Message.Hello receiver) throws IOException, StandinException;
    }

    private ServeSession() {}

    /** {@code what} names the session in a failure ("verify", "recording VM web's point"). */
    static <T> T run(RemoteLocation location, SshOptions ssh, String what, Exchange<T> exchange)
            throws StandinException {
        String command = ssh.remoteStandin() + " serve --root " + Shell.quote(location.directory());
        try (SshConnection connection = SshConnection.open(location, ssh);
                SshConnection.Exec exec = connection.exec(command)) {
            MessageChannel channel = new MessageChannel(exec.input(), exec.output());
            try {
                channel.sendPreamble();
                channel.send(Protocol.hello());
                channel.expectPreamble();
                return exchange.with(channel, channel.expect(Message.Hello.class));
            } catch (RemoteFailure f) {
                throw f.at(location.host());
            } catch (IOException e) {
                String stderr = exec.stderr();
                throw new StandinException(ExitStatus.DESTINATION, what + " on " + location.host() + ": "
                        + e.getMessage() + (stderr.isEmpty() ? "" : " (remote stderr: " + stderr + ")"), e);
            }
        }
    }
}
