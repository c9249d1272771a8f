/**
 * Starting a VM from its replicas. Terms: a <em>failover</em> starts VM NAME on the replica host
 * from one of its VM points, on qcow2 <em>overlays</em> backed by the points' images, so the points
 * stay as they were; a <em>test failover</em> ({@code --test}) starts it without a network, checks
 * that it boots and removes it again. A <em>boot check</em> watches the started VM and gives a
 * <em>verdict</em>: {@code verified} (its QEMU guest agent answers), {@code heuristic} (no agent,
 * but its console reached a login prompt and nothing failed) or {@code failed} (a panic, an I/O
 * error, a power-off, or nothing within the timeout).
 */
package dev.standin.agent.failover;
