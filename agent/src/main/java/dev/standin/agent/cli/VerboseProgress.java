package dev.standin.agent.cli;

import dev.standin.agent.sync.Progress;
import java.io.PrintWriter;

/** With {@code -v}: one line per phase on stderr, besides whatever else shows progress. */
final class VerboseProgress implements Progress {

    private final Progress inner;
    private final PrintWriter err;
    private final long started = System.nanoTime();

    VerboseProgress(Progress inner, PrintWriter err) {
        this.inner = inner;
        this.err = err;
    }

    @Override
    public void phase(String name, long total) {
        err.printf("standin: %s (%s) after %.2f s%n", name, StatsReport.bytes(total), (System.nanoTime() - started) / 1e9);
        err.flush();
        inner.phase(name, total);
    }

    @Override
    public void done(long bytes) {
        inner.done(bytes);
    }

    @Override
    public void finish() {
        inner.finish(); // also when the cycle failed: its error line is the last word then
    }

    /** Called by the command once everything it ran succeeded. */
    void succeeded() {
        err.printf("standin: done after %.2f s%n", (System.nanoTime() - started) / 1e9);
        err.flush();
    }
}
