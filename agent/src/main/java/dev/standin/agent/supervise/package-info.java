/**
 * The supervisor's cycles run through the engine: {@link dev.standin.agent.supervise.TargetCycles}
 * turns a configured target into the request {@code standin sync} would make and the engine's
 * outcomes into the supervisor's result; its setting check is what {@code check-config} applies.
 */
package dev.standin.agent.supervise;
