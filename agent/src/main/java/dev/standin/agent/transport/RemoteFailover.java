package dev.standin.agent.transport;

import com.fasterxml.jackson.databind.JsonNode;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import java.time.Duration;

/**
 * Asks a replica host's receiver to fail a VM over to it from a named VM point (StartVm): the last
 * step of a planned move, over the same SSH key as the cycles.
 */
public final class RemoteFailover {

    private RemoteFailover() {}

    /**
     * Whether the receiver at {@code inReplicas} (a path in the directory of the VM's replicas) can
     * start VMs: asked before the source VM is shut down, so an old receiver stops nothing.
     */
    public static void requireSupport(RemoteLocation inReplicas, SshOptions ssh) throws StandinException {
        ServeSession.run(inReplicas, ssh, "asking whether it can start VMs", (channel, receiver) -> {
            require(inReplicas, receiver);
            return null;
        });
    }

    /** Starts {@code vm} there from VM point {@code point}; the receiver's report, as {@code failover --json} prints it. */
    public static JsonNode start(RemoteLocation inReplicas, SshOptions ssh, String vm, long point, Duration timeout)
            throws StandinException {
        return ServeSession.run(inReplicas, ssh, "failover", (channel, receiver) -> {
            require(inReplicas, receiver);
            channel.send(new Message.StartVm(inReplicas.name(), vm, point, (int) Math.min(timeout.toSeconds(), 86_400)));
            try {
                return Protocol.JSON.readTree(channel.expect(Message.BootReport.class).json());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new ProtocolException("the receiver's failover report is not JSON: " + e.getOriginalMessage());
            }
        });
    }

    private static void require(RemoteLocation at, Message.Hello receiver) throws StandinException {
        if (!receiver.capabilities().contains(Protocol.FAILOVER)) {
            throw new StandinException(ExitStatus.DESTINATION, at.host() + "'s standin (" + receiver.software()
                    + ") cannot start VMs; upgrade it", null, true);
        }
    }
}
