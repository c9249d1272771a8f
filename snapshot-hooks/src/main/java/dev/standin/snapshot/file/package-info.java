/** A plain file's hook: a reflink clone, or a copy made while the filesystem is frozen. */
package dev.standin.snapshot.file;
