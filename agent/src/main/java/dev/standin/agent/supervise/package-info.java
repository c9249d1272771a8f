/**
 * The supervisor's cycles run through the engine: {@link dev.standin.agent.supervise.TargetCycles}
 * turns a configured target into the request {@code standin sync} would make (a libvirt VM listed
 * without disks: the domain's own) and the engine's outcomes into the supervisor's result; its
 * setting check is what {@code check-config} applies. A <em>planned move</em>
 * ({@link dev.standin.agent.supervise.PlannedFailover}) is a configured VM's last cycle with its
 * source shut down, followed by a failover at the target.
 */
package dev.standin.agent.supervise;
