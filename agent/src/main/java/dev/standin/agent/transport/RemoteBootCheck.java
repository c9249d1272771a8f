package dev.standin.agent.transport;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
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
        return ServeSession.run(firstReplica, ssh, "boot check", (channel, receiver) -> {
            if (!receiver.capabilities().contains(Protocol.BOOT_CHECK)) {
                throw new StandinException(ExitStatus.DESTINATION, firstReplica.host() + "'s standin is too old to "
                        + "check that VM points boot; upgrade it", null, true);
            }
            channel.send(new Message.CheckBoot(firstReplica.name(), vm, (int) Math.min(timeout.toSeconds(), 86_400)));
            JsonNode report = Protocol.JSON.readTree(channel.expect(Message.BootReport.class).json());
            return new Verdict(report.path("verdict").asText("failed"), report.path("point").asLong(),
                    report.path("reason").asText("?"));
        });
    }
}
