package dev.standin.delta;

/**
 * Where the rolling search looks for data that moved: at every byte offset, as rsync does, or
 * only at offsets that are whole 512-byte sectors away from a block boundary.
 *
 * <p>Disks move data in sectors: a filesystem relocates whole blocks, a VM image never shifts its
 * content by a few bytes. Searching every byte of a changed 4 KiB block costs 4096 index lookups,
 * and the index (16 MiB for a million blocks) has left the cache by then because the scan streams
 * the image through it: measured here at ~20 ns a byte, 80 µs per changed block, half of the CPU
 * time of a 4 GiB incremental cycle with 1 % of its blocks changed. Sector steps cost 8 lookups
 * per changed block and find every move a disk can make. {@link #BYTE} is for images of files
 * whose content shifts (a text file with a line inserted).
 */
public enum MoveSearch {
    /** No search: blocks match only at their own offset (a resumed first copy, a tracked cycle). */
    NONE(0),
    /** Every byte offset: rsync's search. */
    BYTE(1),
    /** Offsets that are multiples of 512 bytes: every move a disk or a filesystem makes. */
    SECTOR(512);

    private final int step;

    MoveSearch(int step) {
        this.step = step;
    }

    /** The distance between the window positions tested; 0 for {@link #NONE}. */
    public int step() {
        return step;
    }
}
