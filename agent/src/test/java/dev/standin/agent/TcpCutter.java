package dev.standin.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP relay that cuts the connection after a set number of bytes, both ways counted:
 * a network failure in the middle of an SSH session, at a byte position the test chooses.
 */
public final class TcpCutter implements AutoCloseable {

    private final ServerSocket listener;
    private final int targetPort;
    private volatile long cutAfter = Long.MAX_VALUE;
    private final java.util.Set<Socket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public TcpCutter(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "tcp-cutter");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** The next connections are cut once {@code bytes} have crossed them. */
    public void cutAfter(long bytes) {
        cutAfter = bytes;
    }

    /** The network goes down: open connections are reset and new ones too, until {@code cutAfter(Long.MAX_VALUE)}. */
    public void cutAll() {
        cutAfter = 0;
        for (Socket s : open) {
            closeQuietly(s);
        }
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                open.add(client);
                open.add(server);
                AtomicLong crossed = new AtomicLong();
                long limit = cutAfter;
                pump(client, server, crossed, limit);
                pump(server, client, crossed, limit);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to, AtomicLong crossed, long limit) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 << 10];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    long before = crossed.getAndAdd(n);
                    if (before + n >= limit) {
                        int allowed = (int) Math.max(0, limit - before);
                        out.write(buf, 0, allowed);
                        break;
                    }
                    out.write(buf, 0, n);
                }
            } catch (IOException ignored) {
                // the other direction closed the sockets
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "tcp-cutter-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.setSoLinger(true, 0); // RST, as a cable pulled or a firewall dropping state would look
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
