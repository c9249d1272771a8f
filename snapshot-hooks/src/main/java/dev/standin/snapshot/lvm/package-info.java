/** LVM's hook: a snapshot LV of the source LV; for thin LVs, {@code thin_delta} gives the changed extents. */
package dev.standin.snapshot.lvm;
