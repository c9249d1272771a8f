/**
 * The supervisor's cycles run through the engine: {@link dev.standin.agent.supervise.TargetCycles}
 * turns a configured target into the request {@code standin sync} would make (a libvirt VM listed
 * without disks: the domain's own) and the engine's outcomes into the supervisor's result; its
 * setting check is what {@code check-config} applies. A <em>planned move</em>
 * ({@link dev.standin.agent.supervise.PlannedFailover}) is a configured VM's last cycle with its
 * source shut down, followed by a failover at the target. Its <em>move source</em>
 * ({@link dev.standin.agent.supervise.MoveSource}) is the VM as this host runs it: a libvirt domain
 * or a QEMU process reached through its monitor, each shut down, kept off and read stopped in its
 * own way.
 */
package dev.standin.agent.supervise;
