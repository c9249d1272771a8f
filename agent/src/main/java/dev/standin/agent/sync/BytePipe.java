package dev.standin.agent.sync;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A bounded in-memory byte pipe between two threads, carrying a delta stream from the encoder to
 * the applier in a local sync exactly as an SSH channel carries it between hosts. Holds at most
 * {@code CHUNKS × CHUNK} bytes (4 MiB). Either side can fail the pipe, which wakes the other.
 */
final class BytePipe {

    private static final int CHUNK = 256 * 1024;
    private static final int CHUNKS = 16;
    private static final byte[] END = new byte[0];

    private final BlockingQueue<byte[]> chunks = new ArrayBlockingQueue<>(CHUNKS);
    private volatile IOException failure;

    private final OutputStream out = new OutputStream() {
        private byte[] current = new byte[CHUNK];
        private int used;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                int n = Math.min(len, CHUNK - used);
                System.arraycopy(b, off, current, used, n);
                used += n;
                off += n;
                len -= n;
                if (used == CHUNK) {
                    flush();
                }
            }
        }

        @Override
        public void flush() throws IOException {
            if (used > 0) {
                put(Arrays.copyOf(current, used));
                used = 0;
            }
        }

        @Override
        public void close() throws IOException {
            flush();
            put(END);
        }
    };

    private final InputStream in = new InputStream() {
        private byte[] current = new byte[0];
        private int pos;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (pos == current.length) {
                if (current == END) {
                    return -1;
                }
                current = take();
                pos = 0;
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }
    };

    OutputStream output() {
        return out;
    }

    InputStream input() {
        return in;
    }

    /** Fails both ends; pending and later calls throw {@code cause}. */
    void fail(IOException cause) {
        failure = cause;
        chunks.clear();
        chunks.offer(END);
    }

    private void put(byte[] chunk) throws IOException {
        try {
            while (!chunks.offer(chunk, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                check();
            }
            check();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("delta pipe interrupted");
        }
    }

    private byte[] take() throws IOException {
        try {
            byte[] chunk = chunks.take();
            check();
            return chunk;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("delta pipe interrupted");
        }
    }

    private void check() throws IOException {
        IOException f = failure;
        if (f != null) {
            throw new IOException(f.getMessage(), f);
        }
    }
}
