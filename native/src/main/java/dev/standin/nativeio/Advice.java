package dev.standin.nativeio;

/** posix_fadvise(2) advice values; {@link #value} is the Linux constant (note RANDOM=1, SEQUENTIAL=2). */
public enum Advice {
    NORMAL(0),
    RANDOM(1),
    SEQUENTIAL(2),
    WILLNEED(3),
    DONTNEED(4),
    NOREUSE(5);

    final int value;

    Advice(int value) {
        this.value = value;
    }
}
