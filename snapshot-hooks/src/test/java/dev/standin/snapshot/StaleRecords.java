package dev.standin.snapshot;

/** Lets tests in other packages write a record as a crashed process would have left it. */
public final class StaleRecords {

    private StaleRecords() {}

    public static String format(StaleSnapshots.Entry entry) {
        return StaleSnapshots.format(entry);
    }
}
