/**
 * A read-only NBD client over UNIX sockets, for the frozen views QEMU exports of a running VM's
 * drives. Terms: an <em>export</em> is a named disk a server offers; a <em>connection</em> is one
 * socket in the transmission phase (requests answered in order, one at a time); a <em>metadata
 * context</em> is a named per-extent attribute the server reports with block status:
 * {@code base:allocation} (holes and zeros) and QEMU's {@code qemu:dirty-bitmap:NAME} (the extents
 * written since the bitmap began). {@link dev.standin.snapshot.nbd.NbdImage} reads an export from
 * several threads over a pool of connections. {@link dev.standin.snapshot.nbd.QemuNbdServer} is the
 * server side for images no VM has open: {@code qemu-nbd}, started and stopped by pid file.
 */
package dev.standin.snapshot.nbd;
