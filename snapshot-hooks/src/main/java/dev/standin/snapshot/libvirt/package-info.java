/**
 * libvirt's hook and what standin reads of libvirt. A <em>domain</em> is a VM as libvirt names it;
 * its <em>definition</em> is the XML {@code virsh dumpxml} prints (the live one while it runs); a
 * <em>disk</em> of it is a {@code <disk device='disk'>} with a file or block device source and a
 * <em>target</em> ({@code vda}). A running domain's disks are viewed through libvirt's backup API
 * in pull mode: one backup job freezes all of them at one instant and serves each over NBD under
 * its target's name; a shut-off domain's disks are served read-only by {@code qemu-nbd}, whose
 * image lock keeps the domain from starting while they are read. Everything goes through
 * {@code virsh -c URI}.
 */
package dev.standin.snapshot.libvirt;
