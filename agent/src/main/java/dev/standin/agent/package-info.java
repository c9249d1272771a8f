/**
 * What every part of the agent shares: the units its options and configuration are written in
 * ({@link dev.standin.agent.Units}) and the build's {@link dev.standin.agent.Version}. Its failures'
 * root, {@link dev.standin.failure.StandinException}, lives in the native module, below both the
 * agent and the snapshot hooks.
 */
package dev.standin.agent;
