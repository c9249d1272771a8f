package dev.standin.agent.replica;

import dev.standin.nativeio.NativeFile;
import dev.standin.nativeio.NativeIo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Starts the disk's writeback of what a file has just been given (sync_file_range WRITE), so that
 * the fdatasync at a checkpoint or a commit finds most of it written, and the disk is kept busy
 * while the cycle goes on instead of in bursts while it waits. Without it a journal or a first
 * copy's staging file stays in the cache until an fdatasync asks for all of it at once. A hint:
 * where it cannot be given (no native library, a refusal), nothing changes.
 */
final class Writeback implements AutoCloseable {

    /** No hints. */
    static final Writeback NONE = new Writeback(null);

    private NativeFile file;

    private Writeback(NativeFile file) {
        this.file = file;
    }

    /** Hints for {@code path}, open for writing elsewhere. */
    static Writeback of(Path path, Optional<NativeIo> io) {
        if (io.isEmpty()) {
            return NONE;
        }
        try {
            return new Writeback(io.get().open(path, true));
        } catch (IOException e) {
            return NONE;
        }
    }

    /** {@code [offset, offset + length)} was just written. */
    void written(long offset, long length) {
        if (file == null || length <= 0) {
            return;
        }
        try {
            file.startWriteback(offset, length);
        } catch (IOException e) {
            close(); // the next fdatasync writes it all, as without the hint
        }
    }

    @Override
    public void close() {
        if (file != null) {
            try {
                file.close();
            } catch (IOException ignored) {
                // only a hint's descriptor
            }
            file = null;
        }
    }
}
