/**
 * The entry point of replication: {@link dev.standin.agent.engine.Replication} runs a
 * {@link dev.standin.agent.engine.CycleRequest} (disks, each with its options and optional snapshot
 * view; the destination host or this one; the VM they are) and returns a
 * {@link dev.standin.agent.engine.CycleReport}: one {@link dev.standin.agent.engine.DiskOutcome} per
 * disk and the VM point recorded when all of them committed. The command line, the resident agent and
 * the supervisor call it; it knows nothing of picocli or terminals.
 *
 * <p>Terms: a <em>cycle</em> brings one replica to the content of its source at one instant; a
 * <em>view</em> is a snapshot hook's frozen image of a running disk; a <em>replica key</em> names a
 * replica for a hook's change tracking; <em>recovery</em> is what a cycle does first (stale views
 * released, a replica's journal replayed or discarded), also done alone when an agent starts.
 */
package dev.standin.agent.engine;
