package dev.standin.agent.cli;

import dev.standin.agent.transport.ProtocolException;
import dev.standin.agent.transport.ReplicaRoot;
import dev.standin.agent.transport.ReplicaServer;
import dev.standin.agent.transport.ServeRequest;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code standin serve --root DIR}: the receiving end, started by a sender over SSH. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Receives one replication cycle on stdin/stdout (started by 'standin sync' over SSH).",
            "Everything it reads or writes is inside DIR: paths from the wire are relative, without '..', "
                    + "and may not leave DIR through symbolic links.",
            "To restrict a key to replicas under one directory, put this in ~/.ssh/authorized_keys:",
            "  command=\"standin serve --root /srv/replicas\",restrict ssh-ed25519 AAAA...",
            "A sender may then name replicas anywhere under /srv/replicas, and nowhere else."
        },
        sortOptions = false)
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--root", paramLabel = "DIR", required = true,
            description = "The directory replicas live in; nothing outside it is touched.")
    private Path root;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/standin",
            description = "Where journals for block device replicas are kept (default: ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Option(names = "--threads", paramLabel = "N", description = "Threads reading the replica when it must be read.")
    private int threads = Runtime.getRuntime().availableProcessors();

    @ParentCommand
    private Main main;

    @Override
    public Integer call() throws StandinException {
        // stdout carries the protocol: nothing else may be printed to it from here on.
        InputStream in = main.invocation().stdin();
        OutputStream out = main.invocation().stdout();
        ReplicaRoot confined;
        try {
            confined = ServeRequest.effectiveRoot(new ReplicaRoot(root),
                    main.invocation().variable("SSH_ORIGINAL_COMMAND").orElse(null));
        } catch (ProtocolException e) {
            main.invocation().err().println("standin serve: refused: " + dev.standin.agent.transport.WireText.reason(
                    e.getMessage()) + " (exit " + ExitStatus.PROTOCOL.code() + ")");
            main.invocation().err().flush();
            return ReplicaServer.refuse(in, out, new StandinException(ExitStatus.PROTOCOL, e.getMessage(), e));
        } catch (IOException e) {
            return ReplicaServer.refuse(in, out, new StandinException(ExitStatus.DESTINATION,
                    "replica directory " + e.getMessage(), e));
        }
        String peer = main.invocation().variable("SSH_CLIENT").map(c -> c.split(" ")[0]).orElse("a local sender");
        java.io.PrintWriter err = main.invocation().err();
        ReplicaServer server = new ReplicaServer(confined, stateDirectory, threads, NativeIo.tryLoad(), line -> {
            String record = "standin serve: " + peer + ": " + line;
            err.println(record);
            err.flush();
            toSyslog(record);
        });
        return server.serve(in, out);
    }

    /**
     * serve's stderr travels back to the sender over SSH: the replica host keeps its own record
     * in syslog (journald), through logger(1), as a forced command's refusals should be kept.
     */
    private static void toSyslog(String record) {
        Path logger = Path.of("/usr/bin/logger");
        if (!java.nio.file.Files.isExecutable(logger)) {
            return;
        }
        try {
            Process p = new ProcessBuilder(logger.toString(), "-t", "standin", "-p", "auth.warning", "--", record)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (IOException e) {
            // stderr has it; a host without syslog keeps no more
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
