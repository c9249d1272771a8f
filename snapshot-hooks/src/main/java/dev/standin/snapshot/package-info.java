/**
 * Point-in-time views of VM disks (LVM, QEMU, file, ESXi, script hooks) and change tracking.
 * Empty until the snapshot-hooks issue lands.
 */
package dev.standin.snapshot;
