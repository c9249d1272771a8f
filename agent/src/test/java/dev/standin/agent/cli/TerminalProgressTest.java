package dev.standin.agent.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarConsumer;
import org.junit.jupiter.api.Test;

/** The bar shows a rate from its first frame, never "?". */
class TerminalProgressTest {

    @Test
    void theRateIsShownBeforeTheFirstSecond() {
        List<String> frames = new ArrayList<>();
        ProgressBarConsumer consumer = new ProgressBarConsumer() {
            @Override
            public int getMaxRenderedLength() {
                return 120;
            }

            @Override
            public void accept(String frame) {
                frames.add(frame);
            }

            @Override
            public void close() {}
        };
        try (ProgressBar bar = TerminalProgress.builder("scanning source", 100L << 20).setConsumer(consumer).build()) {
            bar.stepTo(10);
            bar.refresh();
            String frame = frames.get(frames.size() - 1);
            assertFalse(frame.contains("?"), frame);
            assertTrue(frame.matches(".*\\d+\\.\\d MiB/s.*"), frame);
            assertTrue(frame.contains("10/100"), frame);
        }
    }
}
