package dev.standin.agent.cli;

import dev.standin.agent.sync.Progress;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

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
        ProgressBarBuilder builder = new ProgressBarBuilder()
                .setTaskName(name)
                .setInitialMax(Math.max(1, total / (1 << 20)))
                .setUnit(" MiB", 1)
                .setStyle(ProgressBarStyle.ASCII)
                .showSpeed()
                .setUpdateIntervalMillis(250)
                .continuousUpdate();
        if (invocation.workingDirectory().isPresent()) {
            // Run by the agent for a client: its terminal is the client's stderr, 80 columns.
            builder.setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(invocation.errStream()));
        }
        bar = builder.build();
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
