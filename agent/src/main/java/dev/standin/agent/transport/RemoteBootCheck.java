package dev.standin.agent.transport;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import java.io.IOException;
import java.time.Duration;

/**
 * Asks the replica host to start a VM's newest VM point as a test failover and check that it
 * boots (CheckBoot): the supervisor's scheduled boot check of a remote target.
 */
public final class RemoteBootCheck {

    /** What the replica host reported. */
    public record Verdict(String verdict, long vmPoint, String reason) { }

    private RemoteBootCheck() {}

    public static Verdict run(RemoteLocation firstReplica, SshOptions ssh, String vm, Duration timeout)
            throws StandinException {
        String command = ssh.remoteStandin() + " serve --root " + Shell.quote(firstReplica.directory());
        try (SshConnection connection = SshConnection.open(firstReplica, ssh);
                SshConnection.Exec exec = connection.exec(command)) {
            MessageChannel channel = new MessageChannel(exec.input(), exec.output());
            try {
                channel.sendPreamble();
                channel.send(Protocol.hello());
                channel.expectPreamble();
                Message.Hello hello = channel.expect(Message.Hello.class);
                if (!hello.capabilities().contains(Protocol.BOOT_CHECK)) {
                    throw new StandinException(ExitStatus.DESTINATION, firstReplica.host() + "'s standin is too old to "
                            + "check that VM points boot; upgrade it", null, true);
                }
                channel.send(new Message.CheckBoot(firstReplica.name(), vm, (int) Math.min(timeout.toSeconds(), 86_400)));
                JsonNode report = Protocol.JSON.readTree(channel.expect(Message.BootReport.class).json());
                return new Verdict(report.path("verdict").asText("failed"), report.path("point").asLong(),
                        report.path("reason").asText("?"));
            } catch (RemoteFailure f) {
                throw f.at(firstReplica.host());
            } catch (IOException e) {
                String stderr = exec.stderr();
                throw new StandinException(ExitStatus.DESTINATION, "boot check on " + firstReplica.host() + ": "
                        + e.getMessage() + (stderr.isEmpty() ? "" : " (remote stderr: " + stderr + ")"), e);
            }
        }
    }
}
