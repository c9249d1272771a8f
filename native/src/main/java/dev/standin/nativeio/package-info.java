/**
 * The Linux system calls the data path needs (sparse extents, hole punching, fadvise, ioprio,
 * block device geometry, clones, freeze), through JNR-FFI. JNR types never leave this package.
 */
package dev.standin.nativeio;
