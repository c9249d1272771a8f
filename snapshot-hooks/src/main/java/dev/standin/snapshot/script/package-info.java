/** The user's own PRE and POST commands around a cycle that reads SOURCE itself. */
package dev.standin.snapshot.script;
