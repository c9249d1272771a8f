/**
 * When cycles start and how healthy a target is: pure functions of a target's policy, its state
 * and the time, tested with a clock that does not move by itself. Terms: <em>cadence</em> (RPO,
 * continuous or calendar), <em>window</em> (hours cycles may start in), <em>backoff</em> (waits
 * between retries), <em>outcome</em> (ok, transient or permanent failure).
 */
package dev.standin.supervisor.policy;
