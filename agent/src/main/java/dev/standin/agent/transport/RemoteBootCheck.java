package dev.standin.agent.transport;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.time.Duration;

/**
 * Asks the replica host to start a VM's newest VM point as a test failover and check that it
 * boots (CheckBoot): the supervisor's scheduled boot check of a remote target.
 */
public final class RemoteBootCheck {

    /** What the replica host reported. */
    public record Verdict(String verdict, long vmPoint, String reason) { }

    private RemoteBootCheck() {}

    /** {@code inReplicas}: a path in the directory of the VM's replicas (its file need not exist). */
    public static Verdict run(RemoteLocation inReplicas, SshOptions ssh, String vm, Duration timeout)
            throws StandinException {
        return ServeSession.run(inReplicas, ssh, "boot check", (channel, receiver) -> {
            if (!receiver.capabilities().contains(Protocol.BOOT_CHECK)) {
                throw new StandinException(ExitStatus.DESTINATION, inReplicas.host() + "'s standin is too old to "
                        + "check that VM points boot; upgrade it", null, true);
            }
            channel.send(new Message.CheckBoot(inReplicas.name(), vm, (int) Math.min(timeout.toSeconds(), 86_400)));
            JsonNode report = Protocol.JSON.readTree(channel.expect(Message.BootReport.class).json());
            return new Verdict(report.path("verdict").asText("failed"), report.path("point").asLong(),
                    report.path("reason").asText("?"));
        });
    }
}
