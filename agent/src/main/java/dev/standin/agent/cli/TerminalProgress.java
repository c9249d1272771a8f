package dev.standin.agent.cli;

import dev.standin.agent.daemon.Invocation;
import dev.standin.agent.sync.Progress;
import java.text.DecimalFormat;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Optional;
import me.tongfei.progressbar.DefaultProgressBarRenderer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import me.tongfei.progressbar.ProgressState;

/** A progress bar with rate and ETA on the terminal, one per phase. */
final class TerminalProgress implements Progress {

    private final Invocation invocation;
    private ProgressBar bar;

    TerminalProgress(Invocation invocation) {
        this.invocation = invocation;
    }

    @Override
    public synchronized void phase(String name, long total) {
        finish();
        ProgressBarBuilder builder = builder(name, total);
        if (invocation.workingDirectory().isPresent()) {
            // Run by the agent for a client: its terminal is the client's stderr, 80 columns.
            builder.setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(invocation.errStream()));
        }
        bar = builder.build();
    }

    /** The bar of one phase of {@code total} bytes, counted in MiB. */
    static ProgressBarBuilder builder(String name, long total) {
        return new ProgressBarBuilder()
                .setTaskName(name)
                .setInitialMax(Math.max(1, total / (1 << 20)))
                .setStyle(ProgressBarStyle.ASCII)
                .setRenderer(new Renderer())
                .setUpdateIntervalMillis(250)
                .continuousUpdate();
    }

    /**
     * The library's rate is the count over whole elapsed seconds, so for the first second it
     * printed "? MiB/s", and then a rate up to twice too high; this one divides by the elapsed
     * milliseconds. The ETA is linear, as the library's.
     */
    static final class Renderer extends DefaultProgressBarRenderer {
        Renderer() {
            super(ProgressBarStyle.ASCII, " MiB", 1, true, new DecimalFormat("0.0"), ChronoUnit.SECONDS, true,
                    Renderer::eta);
        }

        @Override
        protected String speed(ProgressState state) {
            long millis = Math.max(1, state.getElapsedAfterStart().toMillis());
            double perSecond = (state.getCurrent() - state.getStart()) * 1000.0 / millis;
            return String.format(Locale.ROOT, "%.1f MiB/s", perSecond);
        }

        private static Optional<Duration> eta(ProgressState state) {
            long done = state.getCurrent() - state.getStart();
            if (done <= 0 || state.getMax() <= 0) {
                return Optional.empty();
            }
            long millis = state.getElapsedAfterStart().toMillis();
            return Optional.of(Duration.ofMillis(millis * Math.max(0, state.getMax() - state.getCurrent()) / done));
        }
    }

    @Override
    public synchronized void done(long bytes) {
        if (bar != null) {
            bar.stepTo(bytes / (1 << 20));
        }
    }

    @Override
    public synchronized void finish() {
        if (bar != null) {
            bar.stepTo(bar.getMax());
            bar.close();
            bar = null;
        }
    }
}
