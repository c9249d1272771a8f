package dev.standin.agent.daemon;

import dev.standin.agent.Version;
import dev.standin.agent.transport.WarmChannels;
import dev.standin.supervisor.Supervisor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.OutputStreamWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import jdk.net.ExtendedSocketOptions;

/**
 * The resident agent ({@code standin agent}): runs the {@code sync} and {@code serve} commands of
 * its own user, sent by {@link AgentClient}, in this long-lived JVM, each on its own thread. A
 * cycle run here skips the JVM's start and, from the second cycle on, its compiler's warm-up,
 * which on a 2-core host cost a fresh JVM more CPU than hashing a 4 GiB disk (docs/agent.md).
 *
 * <p>What a command sees is its client's: working directory, stdin/stdout/stderr, terminal, and
 * HOME/SSH_AUTH_SOCK/SSH_ORIGINAL_COMMAND. A command whose client has another HOME or ssh-agent
 * than this process is declined, and its client runs it itself. A client that goes away (Ctrl-C,
 * kill, a dropped SSH session) interrupts its command, which leaves its replica at the last
 * committed point as an interrupted process would.
 */
public final class AgentDaemon implements AutoCloseable {

    private final Path socket;
    private final ServerSocketChannel server;
    private final BiFunction<Invocation, String[], Integer> commandLine;
    private final PrintWriter log;
    private final String user = System.getProperty("user.name");
    private final String build = Version.build();
    private final String mountNamespace = FilesystemView.ofThisProcess();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final WarmChannels warmChannels;
    private final Optional<Supervisor> supervisor;

    private AgentDaemon(Path socket, ServerSocketChannel server, BiFunction<Invocation, String[], Integer> commandLine,
            PrintWriter log, WarmChannels warmChannels, Optional<Supervisor> supervisor) {
        this.socket = socket;
        this.server = server;
        this.commandLine = commandLine;
        this.log = log;
        this.warmChannels = warmChannels;
        this.supervisor = supervisor;
    }

    /**
     * Listens on {@code socket} (mode 0600, in a directory created 0700 if missing). A socket file
     * left by an agent that died is replaced; one that an agent still answers on is not.
     */
    public static AgentDaemon bind(Path socket, BiFunction<Invocation, String[], Integer> commandLine, PrintWriter log)
            throws IOException {
        return bind(socket, commandLine, log, new WarmChannels(), Optional.empty());
    }

    /** The same, for an agent whose {@code supervisor} answers status, run, pause... and shares its warm channels. */
    public static AgentDaemon bind(Path socket, BiFunction<Invocation, String[], Integer> commandLine, PrintWriter log,
            WarmChannels warmChannels, Optional<Supervisor> supervisor) throws IOException {
        Path directory = socket.toAbsolutePath().getParent();
        if (!Files.isDirectory(directory)) {
            Files.createDirectories(directory,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        if (Files.exists(socket)) {
            if (answers(socket)) {
                throw new IOException("another agent is listening on " + socket);
            }
            Files.delete(socket); // nobody answers: left by an agent that died
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            server.close();
            throw e;
        }
        return new AgentDaemon(socket, server, commandLine, log, warmChannels, supervisor);
    }

    /** Whether an agent listens on {@code socket} (a connection is accepted). */
    public static boolean answers(Path socket) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public Path socket() {
        return socket;
    }

    /** Accepts clients until {@link #close}; each command runs on a thread of its own. */
    public void serve() throws IOException {
        while (!closed.get()) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (closed.get()) {
                    return;
                }
                throw e;
            }
            long id = requests.incrementAndGet();
            Thread thread = new Thread(() -> session(client, id), "standin-agent-" + id);
            thread.start();
        }
    }

    /** One client: its request, the command's run with the client's streams, the exit status. */
    private void session(SocketChannel client, long id) {
        try (client) {
            InputStream in = AgentWire.input(client);
            OutputStream out = AgentWire.output(client);
            AgentWire.Frame first = AgentWire.read(in);
            if (first == null) {
                return;
            }
            if (first.type() != AgentWire.RUN) {
                throw new AgentWire.AgentWireException("first frame has type " + first.type() + ", not RUN");
            }
            RunRequest request = RunRequest.decode(first.payload());
            Optional<String> refusal = refusal(client, request);
            if (refusal.isPresent()) {
                log("#" + id + " declined " + summary(request) + ": " + refusal.get());
                AgentWire.writeText(out, AgentWire.REFUSED, refusal.get());
                return;
            }
            Optional<ClientPipes> pipes = request.stdin() ? ClientPipes.open(request.pid()) : Optional.empty();
            AgentWire.writeText(out, pipes.isPresent() ? AgentWire.ACCEPTED_PIPES : AgentWire.ACCEPTED, build);
            long started = System.nanoTime();
            int status = run(request, in, out, pipes);
            log(String.format("#%d %s: exit %d after %.2f s%s", id, summary(request), status,
                    (System.nanoTime() - started) / 1e9, pipes.isPresent() ? " (the client's pipes, opened)" : ""));
        } catch (IOException | RuntimeException e) {
            log("#" + id + " failed: " + e);
        }
    }

    /** Why this agent should not run {@code request}, if it should not. */
    private Optional<String> refusal(SocketChannel client, RunRequest request) throws IOException {
        String peer = client.getOption(ExtendedSocketOptions.SO_PEERCRED).user().getName();
        if (!peer.equals(user)) {
            return Optional.of("the agent runs commands of " + user + " only, not of " + peer);
        }
        if (!request.build().equals(build)) {
            return Optional.of("the agent runs " + build + ", the command is " + request.build());
        }
        if (request.args().isEmpty() || !AgentClient.FORWARDED_COMMANDS.contains(request.args().get(0))) {
            return Optional.of("the agent runs only " + AgentClient.FORWARDED_COMMANDS);
        }
        if (AgentClient.AGENT_ONLY_COMMANDS.contains(request.args().get(0))) {
            return Optional.empty(); // the supervisor's: they use the agent's keys and files, not the client's
        }
        Optional<String> otherFiles = FilesystemView.refusal(request, mountNamespace);
        if (otherFiles.isPresent()) {
            return otherFiles;
        }
        // Like with like: the client's $HOME against this process's $HOME. user.home comes from
        // /etc/passwd, so comparing with it declined every command of a client whose $HOME is set
        // elsewhere, even when the agent was started with the same $HOME.
        String home = request.environment().get("HOME");
        String agentHome = Objects.requireNonNullElse(System.getenv("HOME"), System.getProperty("user.home"));
        if (home != null && !home.equals(agentHome)) {
            return Optional.of("the command's HOME (" + home + ") differs from the agent's (" + agentHome + ")");
        }
        if (!Objects.equals(request.environment().get("SSH_AUTH_SOCK"), System.getenv("SSH_AUTH_SOCK"))) {
            return Optional.of("the command uses another ssh-agent than the agent");
        }
        return Optional.empty();
    }

    /** Runs the command with the client's streams: its own pipes when {@code pipes} holds them, else frames. */
    private int run(RunRequest request, InputStream in, OutputStream out, Optional<ClientPipes> pipes) {
        Object writeLock = new Object();
        OutputStream stdout = new FrameOutputStream(out, AgentWire.STDOUT, writeLock);
        OutputStream stderr = new FrameOutputStream(out, AgentWire.STDERR, writeLock);
        ClientStdin stdin = new ClientStdin();
        Thread runner = Thread.currentThread();
        AtomicBoolean finished = new AtomicBoolean();
        Thread reader = new Thread(() -> readClient(in, stdin, runner, finished), runner.getName() + "-in");
        reader.setDaemon(true);
        reader.start();
        int status;
        try {
            InputStream commandIn = pipes.map(ClientPipes::in)
                    .orElse(request.stdin() ? stdin : InputStream.nullInputStream());
            OutputStream commandOut = pipes.map(ClientPipes::out).orElse(stdout);
            PrintWriter outText = new PrintWriter(new OutputStreamWriter(commandOut, StandardCharsets.UTF_8), true);
            PrintWriter errText = new PrintWriter(new OutputStreamWriter(stderr, StandardCharsets.UTF_8), true);
            Invocation invocation = new Invocation(commandIn,
                    new java.io.BufferedOutputStream(commandOut, 256 << 10), outText, errText,
                    Optional.of(request.workingDirectory()), request.environment(), request.terminal(),
                    Optional.of(warmChannels), supervisor);
            status = commandLine.apply(invocation, request.args().toArray(String[]::new));
            outText.flush();
            errText.flush();
            invocation.stdout().flush();
        } catch (IOException e) {
            status = 1;
        } finally {
            pipes.ifPresent(AgentDaemon::closeQuietly); // before the exit status: sshd then sees the output end
            finished.set(true);
            Thread.interrupted(); // an interrupt that came as the command returned is spent
        }
        try {
            synchronized (writeLock) {
                AgentWire.writeExit(out, status);
            }
        } catch (IOException e) {
            // the client is gone; its command has finished anyway
        }
        return status;
    }

    /** Feeds stdin frames to the command; when the client goes away, interrupts the command. */
    private static void readClient(InputStream in, ClientStdin stdin, Thread runner, AtomicBoolean finished) {
        try {
            for (AgentWire.Frame frame; (frame = AgentWire.read(in)) != null; ) {
                switch (frame.type()) {
                    case AgentWire.STDIN -> stdin.offer(frame.payload(), finished);
                    case AgentWire.STDIN_END -> stdin.end(finished);
                    default -> throw new AgentWire.AgentWireException("unexpected frame type " + frame.type());
                }
            }
        } catch (IOException e) {
            // a broken connection ends the command as a closed one does
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!finished.get()) {
            runner.interrupt();
        }
        try {
            stdin.end(finished);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(ClientPipes pipes) {
        try {
            pipes.close();
        } catch (IOException ignored) {
            // a pipe whose reader left: nothing more to say to it
        }
    }

    private static String summary(RunRequest request) {
        List<String> args = request.args();
        return String.join(" ", args.subList(0, Math.min(args.size(), 6))) + (args.size() > 6 ? " ..." : "");
    }

    private void log(String line) {
        synchronized (log) {
            log.println("standin agent: " + line);
            log.flush();
        }
    }

    /** Stops listening and removes the socket; commands still running finish on their threads. */
    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            try (WarmChannels w = warmChannels) {
                server.close();
            } finally {
                Files.deleteIfExists(socket);
            }
        }
    }

    /** Each write becomes one frame of {@code type} (split at the frame size limit). */
    private static final class FrameOutputStream extends OutputStream {
        private final OutputStream out;
        private final int type;
        private final Object lock;

        FrameOutputStream(OutputStream out, int type, Object lock) {
            this.out = out;
            this.type = type;
            this.lock = lock;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            synchronized (lock) {
                for (int done = 0; done < len; ) {
                    int n = Math.min(len - done, AgentWire.MAX_PAYLOAD);
                    AgentWire.write(out, type, b, off + done, n);
                    done += n;
                }
            }
        }
    }

    /** The client's stdin, as the frames arrive; bounded, so a fast sender waits for the command. */
    private static final class ClientStdin extends InputStream {
        private static final byte[] END = new byte[0];
        private final BlockingQueue<byte[]> chunks = new ArrayBlockingQueue<>(64);
        private byte[] current;
        private int position;
        private boolean ended;

        /**
         * Queues a chunk for the command; once the command has finished, drops it instead (a
         * {@code serve} that refused its sender returns while the sender is still sending).
         */
        void offer(byte[] chunk, AtomicBoolean finished) throws InterruptedException {
            while (chunk.length > 0 && !chunks.offer(chunk, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                if (finished.get()) {
                    return;
                }
            }
        }

        /** Queues the end of input behind what is queued, unless the command finishes first. */
        void end(AtomicBoolean finished) throws InterruptedException {
            while (!chunks.offer(END, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                if (finished.get()) {
                    return;
                }
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (current == null || position == current.length) {
                if (ended) {
                    return -1;
                }
                try {
                    current = chunks.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted: the client went away");
                }
                position = 0;
                if (current == END) {
                    ended = true;
                    return -1;
                }
            }
            int n = Math.min(len, current.length - position);
            System.arraycopy(current, position, b, off, n);
            position += n;
            return n;
        }
    }
}
