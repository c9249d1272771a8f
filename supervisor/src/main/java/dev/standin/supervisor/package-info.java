/**
 * The supervisor: protects the VMs of the configuration file on their schedules, retries what
 * fails, judges and reports health, and records every cycle.
 *
 * <p>Terms: a <em>target</em> is one place a VM is replicated to (a VM may have several, each with
 * its own schedule, state and points); a <em>cycle</em> replicates all of a VM's disks to one target
 * ({@code sync}) or scrubs and repairs its replica ({@code verify}); <em>health</em> is ok,
 * initial-sync, paused, warning or critical; <em>slack</em> is how long a target can wait before its
 * RPO is missed. The agent runs cycles for it through {@link dev.standin.supervisor.CycleRunner}:
 * nothing here knows the engine, SSH or the command line.
 */
package dev.standin.supervisor;
