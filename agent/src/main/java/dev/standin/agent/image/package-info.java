/**
 * Disk images as the agent reads them: {@link dev.standin.agent.image.DiskImage} (a regular file
 * or a block device, its size, its data extents and holes), mappings, and the page-cache footprint
 * a cycle leaves behind.
 */
package dev.standin.agent.image;
