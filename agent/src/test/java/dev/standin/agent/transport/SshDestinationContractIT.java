package dev.standin.agent.transport;

import dev.standin.agent.OpenSshServer;
import dev.standin.agent.sync.Destination;
import dev.standin.agent.sync.DestinationContract;
import dev.standin.agent.sync.Progress;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The destination contract over SSH, to a {@code standin serve} behind a real OpenSSH sshd on 127.0.0.1. */
class SshDestinationContractIT extends DestinationContract {

    @TempDir
    static Path shared;

    static OpenSshServer sshd;

    @BeforeAll
    static void startSshd() throws Exception {
        sshd = OpenSshServer.start(shared.resolve("sshd"), null);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        sshd.close();
    }

    @AfterEach
    void receiversEnded() throws Exception {
        OpenSshServer.awaitReceiversEnded(dir);
    }

    @Override
    protected Destination destination(Path replica, Path state) {
        SshOptions ssh = new SshOptions(Optional.of(sshd.clientKey()), sshd.knownHosts(), Optional.empty(),
                sshd.launcher().toString(), 20_000, 0, SshOptions.DEFAULT_IO_TIMEOUT);
        RemoteLocation location = RemoteLocation.parse(sshd.url(replica)).orElseThrow();
        return SshDestination.connecting(location, ssh, state, false, Progress.NONE, Optional.empty());
    }
}
