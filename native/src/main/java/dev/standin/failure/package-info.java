/**
 * The one root of standin's failures: {@link dev.standin.failure.StandinException}, thrown by the
 * engine, the snapshot hooks (their {@code SnapshotException} is one) and everything above them,
 * each with the {@link dev.standin.failure.ExitStatus} the command line reports and whether running
 * the same thing again can help ({@code isPermanent()}, what the supervisor's retry policy reads).
 * It lives in this module, the lowest one that the agent and the snapshot hooks both build on, so
 * that both throw the same type; it has nothing to do with native calls.
 */
package dev.standin.failure;
