/**
 * Scrubbing: re-reading a replica and comparing it with its record (the signature cache) to find
 * <em>drift</em>, blocks that changed outside standin; and the report of what was found. A repair
 * ({@code verify --against SOURCE}) is a cycle whose basis comes from a scrub.
 */
package dev.standin.agent.verify;
