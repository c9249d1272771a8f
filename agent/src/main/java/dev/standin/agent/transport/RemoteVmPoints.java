package dev.standin.agent.transport;

import dev.standin.agent.vm.VmPoint;
import dev.standin.agent.vm.VmPointFormat;
import dev.standin.failure.StandinException;
import java.util.OptionalLong;

/**
 * Records a VM point on the replica host, after all of the VM's disks committed there: one short
 * session of its own ({@code RecordVmPoint}), answered with the id the receiver gave it.
 */
public final class RemoteVmPoints {

    private RemoteVmPoints() {}

    /**
     * The recorded point's id; empty when the receiver is a standin too old to record VM points
     * (its disks' points are kept all the same).
     */
    public static OptionalLong record(RemoteLocation firstReplica, SshOptions ssh, VmPoint point)
            throws StandinException {
        return ServeSession.run(firstReplica, ssh, "recording VM " + point.vm() + "'s point", (channel, receiver) -> {
            if (!receiver.capabilities().contains(Protocol.VM_POINTS)) {
                return OptionalLong.empty();
            }
            channel.send(new Message.RecordVmPoint(firstReplica.name(), VmPointFormat.encode(point)));
            return OptionalLong.of(channel.expect(Message.VmPointRecorded.class).id());
        });
    }
}
