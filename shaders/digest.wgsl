// The hash value type every Merkle kernel shares, for SHA-256 and SM3 alike.
//
// Hash values travel between kernels as the eight big-endian state words the compression
// functions produce (word 0 holds digest bytes 0..4, most significant first). SHA-256 and SM3
// both read their message blocks as big-endian words, so a child digest is already in the
// word order a parent's message block needs and nothing is byte-swapped between levels. Only
// raw input bytes (records, 32-byte leaf hashes) are swapped, once, as they are loaded.
//
// The host puts this file first, then one hash file (sha256.wgsl or sm3.wgsl), then the
// kernel (WGSL has no #include).

// Eight state words; a struct so functions can take and return a whole state by value.
struct Digest {
    w: array<u32, 8>,
}

// Four bytes as they sit in a little-endian storage word, read as one big-endian word.
fn bswap32(v: u32) -> u32 {
    return (v << 24u) | ((v & 0xff00u) << 8u) | ((v >> 8u) & 0xff00u) | (v >> 24u);
}
