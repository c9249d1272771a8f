package dev.standin.agent.cli;

import dev.standin.agent.daemon.AgentClient;
import dev.standin.agent.daemon.Invocation;
import dev.standin.failure.ExitStatus;
import dev.standin.failure.StandinException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code standin} command: subcommands only; each is a thin class in this package. */
@Command(
        name = "standin",
        mixinStandardHelpOptions = true,
        versionProvider = Main.VersionProvider.class,
        description = "Keeps VM disk replicas on another disk or host, sending only changed blocks.",
        subcommands = {SyncCommand.class, ServeCommand.class, VerifyCommand.class, PointsCommand.class,
            RestoreCommand.class, AgentCommand.class, StatusCommand.class, HistoryCommand.class, RunCommand.class,
            PauseCommand.class, ResumeCommand.class, ReloadCommand.class, CheckConfigCommand.class, PairCommand.class,
            DoctorCommand.class, FailoverCommand.class, ReverseCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nEXIT STATUS%n",
        exitCodeList = {
            " 0:success",
            " 1:unexpected internal error",
            " 2:bad command line or option value",
            " 3:source missing, unreadable, or changed size during the cycle",
            " 4:destination cannot be written (permissions, no space, I/O error), or the replica to verify, list or restore is missing",
            " 5:malformed, truncated or corrupt delta stream, or a journal of another version",
            " 6:replica digest differs from the source's; nothing was committed (sync), or the replica drifted from its record or has none (verify)",
            " 7:the --snapshot hook could not make or release a point-in-time view",
            " 8:no agent with a configuration answers, or it has no such VM or target (status, run, pause...)",
            " 9:doctor: something the configuration uses is missing on this host or unreachable",
            "130:interrupted; the replica is left at its previous recovery point"
        })
public final class Main {

    private final Invocation invocation;

    private Main(Invocation invocation) {
        this.invocation = invocation;
    }

    public static void main(String[] args) {
        java.util.concurrent.atomic.AtomicBoolean finished = new java.util.concurrent.atomic.AtomicBoolean();
        sayWhatAnInterruptionLeaves(args, finished);
        // A resident agent runs the cycle in a JVM whose code is already compiled (docs/agent.md).
        java.util.OptionalInt ranByAgent = AgentClient.runThroughAgent(args, System.getenv());
        int status = ranByAgent.isPresent() ? ranByAgent.getAsInt() : runHere(args);
        finished.set(true);
        System.exit(status);
    }

    private static int runHere(String[] args) {
        bindNativeInBackground();
        return run(args);
    }

    /**
     * Ctrl-C (SIGINT) or SIGTERM ends the JVM through its shutdown hooks, with no exception that
     * {@link #handle} could report, so the command would end (130, 143) without a word. What a
     * signal leaves is known, so it is said: the journal keeps the replica at its last committed
     * point, and what had arrived is held for the next cycle. The agent says it in its own log.
     */
    private static void sayWhatAnInterruptionLeaves(String[] args, java.util.concurrent.atomic.AtomicBoolean finished) {
        String command = args.length == 0 ? "" : args[0];
        if (command.equals("agent") || command.equals("serve")) {
            return; // the agent logs its own end; serve's stderr is its sender's, which reports the cut
        }
        Runtime.getRuntime().addShutdownHook(new InterruptionReport(finished,
                command.equals("sync") || command.equals("verify")));
    }

    /**
     * A class, not a lambda: the first lambda of a JVM bootstraps java.lang.invoke (~10 ms here),
     * and every command that the agent runs pays this JVM's start-up.
     */
    private static final class InterruptionReport extends Thread {
        private final java.util.concurrent.atomic.AtomicBoolean finished;
        private final boolean writesReplicas;

        InterruptionReport(java.util.concurrent.atomic.AtomicBoolean finished, boolean writesReplicas) {
            super("standin-interrupted");
            this.finished = finished;
            this.writesReplicas = writesReplicas;
        }

        @Override
        public void run() {
            if (!finished.get()) {
                System.err.println(writesReplicas
                        ? "standin: interrupted; the replica is left at its last committed point, and the next cycle "
                                + "resumes from what had arrived"
                        : "standin: interrupted");
                System.err.flush();
            }
        }
    }

    /**
     * Binding libc through JNR-FFI takes ~0.18 s (jffi's stub, classes generated with ASM); the
     * data path needs it first only after the command line is parsed and the destination locked.
     * Binding on another thread meanwhile took 0.1 s off every cycle here. A command that never
     * uses it (--help) does not wait for it: the thread is a daemon.
     */
    private static void bindNativeInBackground() {
        Thread binder = new Thread(dev.standin.nativeio.NativeIo::tryLoad, "standin-bind-libc");
        binder.setDaemon(true);
        binder.start();
    }

    public static int run(String... args) {
        return run(Invocation.ofProcess(), args);
    }

    /** Runs the command line with the given output streams and returns the exit status. */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        return run(Invocation.ofProcess(out, err), args);
    }

    /** Runs the command line for {@code invocation} and returns the exit status. */
    public static int run(Invocation invocation, String... args) {
        return commandLine(invocation).execute(args);
    }

    /**
     * The whole command model, bound to {@code invocation}: what {@link #run} executes, and what the
     * packages' man pages and bash completion are generated from, so the two cannot drift.
     */
    public static CommandLine commandLine(Invocation invocation) {
        CommandLine cli = new CommandLine(new Main(invocation));
        // Every subcommand has --version (mixinStandardHelpOptions); it prints what the root's does.
        for (CommandLine sub : cli.getSubcommands().values()) {
            sub.getCommandSpec().versionProvider(cli.getCommandSpec().versionProvider());
        }
        cli.setOut(invocation.out());
        cli.setErr(invocation.err());
        cli.registerConverter(java.nio.file.Path.class, invocation::resolve);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setExecutionExceptionHandler(Main::handle);
        cli.setParameterExceptionHandler((e, a) -> {
            e.getCommandLine().getErr().println("standin: " + e.getMessage());
            e.getCommandLine().getErr().println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ExitStatus.USAGE.code();
        });
        return cli;
    }

    /** Every failure becomes one line on stderr and a named exit status. */
    private static int handle(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        if (interrupted(e)) {
            // An interrupt closes the channels it meets, so what fails first may look like an I/O error.
            cli.getErr().println("standin: interrupted; the replica is left at its last committed point");
            return ExitStatus.INTERRUPTED.code();
        }
        if (e instanceof StandinException s) {
            cli.getErr().println("standin: " + s.getMessage());
            return s.status().code();
        }
        if (e instanceof IllegalArgumentException) {
            cli.getErr().println("standin: " + e.getMessage());
            return ExitStatus.USAGE.code();
        }
        if (e instanceof InterruptedException) {
            cli.getErr().println("standin: interrupted");
            return ExitStatus.INTERRUPTED.code();
        }
        cli.getErr().println("standin: internal error: " + e);
        e.printStackTrace(cli.getErr());
        return ExitStatus.ERROR.code();
    }

    private static boolean interrupted(Throwable e) {
        if (Thread.currentThread().isInterrupted()) {
            return true;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (dev.standin.agent.sync.Failures.isInterruption(t)) {
                return true;
            }
        }
        return false;
    }

    /** Where this run's input and output go; subcommands reach it as their parent command. */
    Invocation invocation() {
        return invocation;
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            // As rsync -V lists its checksums: whether this host hashes at vector speed shows here.
            return new String[] {dev.standin.agent.Version.text(),
                "block hash: XXH3-64 by " + dev.standin.delta.StrongHash.implementation()};
        }
    }
}
