/**
 * The delta algorithm, with no I/O of its own: block sizes, weak and strong block hashes,
 * {@link dev.standin.delta.Signatures} (a replica's hashes, block by block), matching a source
 * segment against them ({@link dev.standin.delta.SegmentMatcher}), the image digest, and
 * assembling a target from a basis and a delta.
 *
 * <p>Terms: <em>same</em> (a block unchanged in place), <em>moved</em> (found elsewhere in the
 * basis), <em>zero</em>, <em>literal</em> (sent as data); the <em>image digest</em> is a hash over
 * the blocks' strong hashes (standin-image-digest-v3), not a SHA-256 of the image.
 */
package dev.standin.delta;
