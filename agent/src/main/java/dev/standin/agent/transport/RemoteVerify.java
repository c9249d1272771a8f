package dev.standin.agent.transport;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.verify.ScrubReport;
import java.io.IOException;

/**
 * {@code standin verify [user@]host:PATH}: the receiver scrubs its replica (reads it and compares
 * it with the record of its last commit) and sends back the report. No source is involved.
 */
public final class RemoteVerify {

    private RemoteVerify() {}

    public static ScrubReport run(RemoteLocation location, SshOptions ssh) throws StandinException {
        String command = ssh.remoteStandin() + " serve --root " + Shell.quote(location.directory());
        try (SshConnection connection = SshConnection.open(location, ssh);
                SshConnection.Exec exec = connection.exec(command)) {
            MessageChannel channel = new MessageChannel(exec.input(), exec.output());
            try {
                channel.sendPreamble();
                channel.send(Protocol.hello());
                channel.expectPreamble();
                channel.expect(Message.Hello.class);
                channel.send(new Message.Verify(location.name()));
                String json = channel.expect(Message.ScrubResult.class).json();
                return Protocol.JSON.readValue(json, ScrubReport.class);
            } catch (RemoteFailure f) {
                throw f.at(location.host());
            } catch (IOException e) {
                String stderr = exec.stderr();
                throw new StandinException(ExitStatus.DESTINATION, "verify on " + location.host() + ": " + e.getMessage()
                        + (stderr.isEmpty() ? "" : " (remote stderr: " + stderr + ")"), e);
            }
        }
    }
}
