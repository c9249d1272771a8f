/**
 * The resident agent ({@code standin agent}): a UNIX socket on which short-lived clients hand
 * their command, streams, working directory and environment (an {@link dev.standin.agent.daemon.Invocation})
 * to one warm JVM, so a cycle pays no JVM start-up (docs/agent.md).
 */
package dev.standin.agent.daemon;
