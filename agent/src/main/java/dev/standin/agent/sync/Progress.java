package dev.standin.agent.sync;

/** Where a sync reports how far it is; the command line draws a bar from it. */
public interface Progress {

    Progress NONE = new Progress() {
        @Override
        public void phase(String name, long total) {}

        @Override
        public void done(long bytes) {}
    };

    /** A new phase begins: {@code total} bytes to go. */
    void phase(String name, long total);

    /** {@code bytes} of the current phase are done. */
    void done(long bytes);

    default void finish() {}
}
