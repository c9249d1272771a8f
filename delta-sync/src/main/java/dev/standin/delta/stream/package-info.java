/**
 * The delta stream's codec (docs/delta-format.md): a header, frames of operations and literal
 * data, optionally compressed (lz4, zstd), and an end frame with the target's digest; encoder and
 * decoder work on any byte stream.
 */
package dev.standin.delta.stream;
