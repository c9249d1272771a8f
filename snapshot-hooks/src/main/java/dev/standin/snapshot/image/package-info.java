/**
 * The {@code image} snapshot hook: disk images no VM has open (a shut-down VM's raw or qcow2 disks),
 * read as the guest sees them through {@code qemu-nbd}, whose image lock keeps any QEMU from
 * writing them while the cycle reads. A <em>stopped image</em> is one no process has open to write.
 */
package dev.standin.snapshot.image;
