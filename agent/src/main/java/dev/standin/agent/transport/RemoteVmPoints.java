package dev.standin.agent.transport;

import dev.standin.agent.ExitStatus;
import dev.standin.agent.StandinException;
import dev.standin.agent.vm.VmPoint;
import dev.standin.agent.vm.VmPointFormat;
import java.io.IOException;
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
        String command = ssh.remoteStandin() + " serve --root " + Shell.quote(firstReplica.directory());
        try (SshConnection connection = SshConnection.open(firstReplica, ssh);
                SshConnection.Exec exec = connection.exec(command)) {
            MessageChannel channel = new MessageChannel(exec.input(), exec.output());
            try {
                channel.sendPreamble();
                channel.send(Protocol.hello());
                channel.expectPreamble();
                Message.Hello hello = channel.expect(Message.Hello.class);
                if (!hello.capabilities().contains(Protocol.VM_POINTS)) {
                    return OptionalLong.empty();
                }
                channel.send(new Message.RecordVmPoint(firstReplica.name(), VmPointFormat.encode(point)));
                return OptionalLong.of(channel.expect(Message.VmPointRecorded.class).id());
            } catch (RemoteFailure f) {
                throw f.at(firstReplica.host());
            } catch (IOException e) {
                String stderr = exec.stderr();
                throw new StandinException(ExitStatus.DESTINATION, "recording VM " + point.vm() + "'s point on "
                        + firstReplica.host() + ": " + e.getMessage()
                        + (stderr.isEmpty() ? "" : " (remote stderr: " + stderr + ")"), e);
            }
        }
    }
}
