/**
 * QEMU's hook: a temporary qcow2 overlay freezes the drive's image while the VM writes on; a dirty
 * bitmap per replica tracks the guest's writes between cycles, read back over NBD; QMP is spoken
 * over the VM's UNIX socket.
 */
package dev.standin.snapshot.qemu;
