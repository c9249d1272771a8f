/**
 * One cycle's mechanism, whatever its destination. {@link dev.standin.agent.sync.Cycle} is the
 * sending half: it reads the source through a {@link dev.standin.agent.sync.SegmentPipeline},
 * matches it against the replica's signatures and writes the delta stream to a
 * {@link dev.standin.agent.sync.Destination}, the replica end, whose contract (lock, atomic commit,
 * what a failure leaves) is written on the interface. {@link dev.standin.agent.sync.LocalDestination}
 * is the replica end on this host, over {@link dev.standin.agent.sync.ReplicaSession}.
 *
 * <p>Terms: the <em>basis</em> is what the delta is computed against (the replica's signatures, or
 * those of the blocks an interrupted cycle holds); a <em>first copy</em> has no basis; <em>resuming</em>
 * continues an interrupted cycle to the same image; a <em>tracked</em> scan reads only the extents a
 * snapshot hook says changed; a <em>seeding</em> cycle must read the whole replica for its basis (no
 * signatures of it are held anywhere), and hashes the source meanwhile
 * ({@link dev.standin.agent.sync.SourceHashes}); a <em>dry run</em> is
 * {@link dev.standin.agent.sync.DryRunDestination} around any destination.
 */
package dev.standin.agent.sync;
