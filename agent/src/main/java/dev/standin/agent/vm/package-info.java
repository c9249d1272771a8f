/**
 * A protected VM as a whole, beside its disks' replicas. Terms: a <em>VM point</em> is the set of
 * its disks' recovery points that one cycle committed from one instant, recorded only when every
 * disk committed (so a failover never mixes points of two instants); its <em>definition</em> is
 * what it takes to start the VM again on another host (today a QEMU launch spec: memory, CPUs,
 * machine type; the disks' order is the boot order). VM points live in
 * {@code DIR/.standin-vms/NAME/} beside the replicas in {@code DIR} (docs/vm-points-format.md).
 */
package dev.standin.agent.vm;
