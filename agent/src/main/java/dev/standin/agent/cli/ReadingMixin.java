package dev.standin.agent.cli;

import picocli.CommandLine.Option;

/** How commands that read whole images read them: courtesy to the guests on the same host. */
final class ReadingMixin {

    @Option(names = "--no-drop-cache", negatable = false,
            description = "Keep what is read in the page cache (by default it is dropped so that guests keep theirs).")
    private boolean keepCache;

    @Option(names = "--no-idle-io", negatable = false,
            description = "Read at normal I/O priority (by default the reader uses the idle class).")
    private boolean normalIo;

    @Option(names = "--threads", paramLabel = "N", description = "Hashing threads (default: the number of cores).")
    private int threads = Runtime.getRuntime().availableProcessors();

    boolean dropCache() {
        return !keepCache;
    }

    boolean idleIo() {
        return !normalIo;
    }

    int threads() {
        return threads;
    }
}
