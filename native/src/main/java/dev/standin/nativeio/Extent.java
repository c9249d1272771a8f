package dev.standin.nativeio;

/** A byte range {@code [offset, offset + length)} of a file that holds data (not a hole). */
public record Extent(long offset, long length) {

    public Extent {
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException("negative extent: offset " + offset + ", length " + length);
        }
    }

    public long end() {
        return offset + length;
    }
}
