package dev.standin.agent.sync;

import dev.standin.delta.stream.DeltaHeader;
import dev.standin.failure.StandinException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * A dry run of any {@link Destination}: the replica is opened and its basis found as in a real
 * cycle (so the delta, its statistics and the recovery points a sync would drop are the real
 * ones), and the delta stream is counted and discarded instead of delivered. Nothing reaches the
 * replica, since the inner destination's {@link Destination#deliver} is never called; its
 * {@link Destination#close} then ends the cycle as after any failure, changing nothing.
 *
 * <p>The inner destination still sees {@link Destination.Opening#dryRun}, but only to skip what
 * prepares a write: a first copy's room check, and a remote receiver's wait for a stream it would
 * apply.
 */
public final class DryRunDestination implements Destination {

    private final Destination inner;

    public DryRunDestination(Destination inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Replica open(Opening opening) throws StandinException, InterruptedException {
        return inner.open(new Opening(opening.sourceLength(), opening.sourceAllocated(), opening.blockSize(), true,
                opening.keepPoints(), opening.compression()));
    }

    @Override
    public Basis basis() throws StandinException, InterruptedException {
        return inner.basis();
    }

    @Override
    public Delivery deliver(DeltaHeader header) {
        return new Delivery() {
            @Override
            public OutputStream stream() {
                return OutputStream.nullOutputStream();
            }

            @Override
            public boolean wantsSignatures() {
                return false;
            }

            @Override
            public Committed commit(SourceSender.Sent scan, long deltaBytes) {
                return new Committed(0, deltaBytes); // what the wire would have carried
            }

            @Override
            public StandinException failed(Exception cause) {
                return Failures.wrap(cause, "source ");
            }
        };
    }

    @Override
    public void close() throws StandinException {
        inner.close();
    }
}
