/**
 * What every part of the agent shares: {@link dev.standin.agent.StandinException}, the one root of
 * its failures, with the {@link dev.standin.agent.ExitStatus} the command line reports and whether
 * a retry can help ({@code isPermanent()}, which the supervisor's retry policy reads); and the build's
 * {@link dev.standin.agent.Version}.
 */
package dev.standin.agent;
