/**
 * Schedules replication cycles, retries what fails, verifies replicas and reports recovery point age.
 * Empty until the supervisor issue lands.
 */
package dev.standin.supervisor;
