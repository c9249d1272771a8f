/**
 * The standin protocol over SSH (docs/protocol.md). {@link dev.standin.agent.transport.SshDestination}
 * is the sending side's {@code Destination} on another host; {@link dev.standin.agent.transport.ReplicaServer}
 * ({@code standin serve}) maps each message to a call on the receiving host's {@code LocalDestination}.
 *
 * <p>Terms: a <em>generation</em> is the digest of a replica's signatures at its last commit; the
 * <em>sender cache</em> keeps a copy of them on the sending host, so an unchanged generation needs
 * no signatures on the wire; a <em>warm channel</em> is a serve channel greeted in advance by a
 * long-lived process; the <em>replica root</em> confines every path a sender names; a
 * <em>keep-alive</em> is the receiver's word that its silent work advanced, and a cycle in which
 * nothing moves (no bytes, no keep-alive, no reading of the source) for the <em>timeout</em> is
 * abandoned as hung.
 */
package dev.standin.agent.transport;
