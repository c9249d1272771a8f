package dev.standin.delta;

/**
 * What matching found, counted in source blocks (each block counted once, by the most expensive
 * op that touches it: literal, then copy, then zero, then same) and in literal bytes.
 */
public record MatchStats(long blocksSame, long blocksMoved, long blocksZero, long blocksChanged, long literalBytes) {

    public static final MatchStats NONE = new MatchStats(0, 0, 0, 0, 0);

    public MatchStats plus(MatchStats o) {
        return new MatchStats(
                blocksSame + o.blocksSame,
                blocksMoved + o.blocksMoved,
                blocksZero + o.blocksZero,
                blocksChanged + o.blocksChanged,
                literalBytes + o.literalBytes);
    }

    public long blocks() {
        return blocksSame + blocksMoved + blocksZero + blocksChanged;
    }
}
