/**
 * Pairing: making a replica host reachable for this host's cycles in one command
 * ({@code standin pair}). Terms: the <b>key</b> is standin's own ed25519 identity on this host
 * (never the administrator's); the <b>pinned host key</b> is the replica host's key, written to
 * standin's own known_hosts only after a person confirmed its fingerprint (or gave it with
 * {@code --accept-fingerprint}); the <b>restricted key</b> is the authorized_keys line on the replica
 * host that lets the key run nothing but {@code standin serve --root DIR}; the <b>proof</b> is a
 * protocol handshake over the new key and the pinned host key, as a cycle would make it. The
 * administrator's own SSH access is used once, to install the restricted key.
 */
package dev.standin.agent.pairing;
