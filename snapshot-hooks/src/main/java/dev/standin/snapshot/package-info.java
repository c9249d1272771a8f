/**
 * Point-in-time views of VM disks and change tracking. A {@link dev.standin.snapshot.SnapshotHook}
 * turns "this VM's disk" into a {@link dev.standin.snapshot.Snapshot}: a frozen, readable view for
 * the length of one cycle, with the extents changed since the last replicated snapshot when the
 * platform tracks them. Hooks: {@code qemu} (QMP), {@code file} (reflink or fsfreeze + copy),
 * {@code script} (user commands), {@code esxi} (vim-cmd over a {@link dev.standin.snapshot.RemoteShell}),
 * {@code lvm}, {@code libvirt} (a domain's backup API), {@code image} (stopped images through
 * {@code qemu-nbd}). Every snapshot is recorded in {@link dev.standin.snapshot.StaleSnapshots} before it is
 * made, so one left by a crash is found and released at the next start.
 */
package dev.standin.snapshot;
