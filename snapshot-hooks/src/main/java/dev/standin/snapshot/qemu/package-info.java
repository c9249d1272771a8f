/**
 * QEMU's hook: temporary qcow2 overlays freeze a running VM's drives at one instant (one QMP
 * {@code transaction} for all of them, optionally inside a guest filesystem freeze through the
 * guest agent) while the VM writes on; the frozen nodes are exported over QEMU's own NBD server,
 * through which a non-raw view (qcow2) is read and the dirty bitmaps are asked for the extents the
 * guest wrote since the last replicated view (one bitmap per replica, persistent in qcow2). Terms:
 * a <em>drive</em> is a block node the guest's device writes to; the <em>overlay</em> is the layer
 * the guest writes to while its drive is frozen; a <em>session</em> is what the drives of one take
 * share (the QMP connection and the NBD server). QMP is spoken over the VM's UNIX socket.
 */
package dev.standin.snapshot.qemu;
