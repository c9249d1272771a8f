/**
 * The files beside a replica and their formats (docs/*-format.md): the journal that makes a commit
 * atomic, recovery points (undo files, clones, the point index), the signature cache, the resume
 * log, and {@link dev.standin.agent.replica.SideFiles}, which creates them without following links.
 *
 * <p>Terms: a <em>recovery point</em> is a committed state of the replica that can be restored; an
 * <em>undo point</em> holds the pre-images a commit overwrote; a <em>clone point</em> is a reflink
 * copy of the whole replica.
 */
package dev.standin.agent.replica;
