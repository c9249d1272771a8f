package dev.standin.supervisor;

/** How far a running cycle is, for {@code standin status}: its phase (reading, sending...) and bytes done of it. */
public interface CycleProgress {

    CycleProgress NONE = new CycleProgress() {
        @Override
        public void phase(String name, long total) {
        }

        @Override
        public void done(long bytes) {
        }
    };

    /** A phase begins with {@code total} bytes to go. */
    void phase(String name, long total);

    /** {@code bytes} of the current phase are done. */
    void done(long bytes);
}
