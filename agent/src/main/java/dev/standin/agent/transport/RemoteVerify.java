package dev.standin.agent.transport;

import dev.standin.agent.verify.ScrubReport;
import dev.standin.failure.StandinException;

/**
 * {@code standin verify [user@]host:PATH}: the receiver scrubs its replica (reads it and compares
 * it with the record of its last commit) and sends back the report. No source is involved.
 */
public final class RemoteVerify {

    private RemoteVerify() {}

    public static ScrubReport run(RemoteLocation location, SshOptions ssh) throws StandinException {
        return ServeSession.run(location, ssh, "verify", (channel, receiver) -> {
            channel.send(new Message.Verify(location.name()));
            String json = channel.expect(Message.ScrubResult.class).json();
            return Protocol.JSON.readValue(json, ScrubReport.class);
        });
    }
}
