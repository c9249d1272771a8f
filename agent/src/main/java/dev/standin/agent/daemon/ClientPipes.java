package dev.standin.agent.daemon;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The stdin and stdout pipes of a {@code standin serve} client (sshd's pipes to the remote
 * command), opened by the agent itself through {@code /proc/PID/fd}: the protocol stream then
 * goes between sshd and the agent directly, where the client would copy every byte once more
 * through its own JVM and the agent's socket (1.4 CPU-s of a 1.9 GB first copy here, a tenth of
 * the cycle's CPU on two cores). Linux opens a pipe anew through that link; it refuses a socket,
 * and only a process of the same user may open another's, which the agent checks first anyway.
 */
final class ClientPipes implements AutoCloseable {

    private final InputStream in;
    private final OutputStream out;

    private ClientPipes(InputStream in, OutputStream out) {
        this.in = in;
        this.out = out;
    }

    /**
     * Opens process {@code pid}'s stdin and stdout if both are pipes of a process of this user;
     * empty otherwise (a terminal, a file, a socket, another user's process, no /proc): the client
     * then relays them as frames.
     */
    static Optional<ClientPipes> open(long pid) {
        if (pid <= 0) {
            return Optional.empty();
        }
        Path fds = Path.of("/proc", Long.toString(pid), "fd");
        try {
            if (!uid(Path.of("/proc", Long.toString(pid), "status")).equals(uid(Path.of("/proc/self/status")))
                    || !isPipe(fds.resolve("0")) || !isPipe(fds.resolve("1"))) {
                return Optional.empty();
            }
            FileInputStream in = new FileInputStream(fds.resolve("0").toFile());
            try {
                return Optional.of(new ClientPipes(new PipeInput(in), new FileOutputStream(fds.resolve("1").toFile())));
            } catch (IOException e) {
                in.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static boolean isPipe(Path fd) throws IOException {
        return Files.readSymbolicLink(fd).toString().startsWith("pipe:");
    }

    /** The real uid from a /proc/PID/status file. */
    private static String uid(Path status) throws IOException {
        return Files.readAllLines(status).stream().filter(l -> l.startsWith("Uid:")).findFirst()
                .map(l -> l.split("\\s+")[1]).orElseThrow(() -> new IOException("no Uid in " + status));
    }

    /**
     * A pipe's FileInputStream with only the plain reads: JDK 17's FileInputStream.readNBytes asks
     * for the file's position first, which a pipe refuses ("Illegal seek").
     */
    private static final class PipeInput extends InputStream {
        private final FileInputStream pipe;

        PipeInput(FileInputStream pipe) {
            this.pipe = pipe;
        }

        @Override
        public int read() throws IOException {
            return pipe.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return pipe.read(b, off, len);
        }

        @Override
        public void close() throws IOException {
            pipe.close();
        }
    }

    InputStream in() {
        return in;
    }

    OutputStream out() {
        return out;
    }

    /** Closes this process's ends: sshd sees end of output once the client has exited too. */
    @Override
    public void close() throws IOException {
        try (InputStream i = in; OutputStream o = out) {
            // both closed
        }
    }
}
