package dev.standin.agent.cli;

import dev.standin.agent.daemon.AgentSocket;
import dev.standin.agent.daemon.Invocation;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.supervisor.Supervisor;

/** The supervisor of the agent that runs this command; the commands that need one say so in one line without it. */
final class Supervised {

    private Supervised() {
    }

    static Supervisor of(Invocation invocation, String command) throws StandinException {
        return invocation.supervisor().orElseThrow(() -> new StandinException(ExitStatus.AGENT, "standin " + command
                + " asks the running agent, and no agent with a configuration file answered on "
                + AgentSocket.path(invocation.environment(), System.getProperty("user.name")).map(Object::toString)
                        .orElse("its socket")
                + " (start it: systemctl start standin-agent; it reads /etc/standin/standin.yaml)"));
    }
}
