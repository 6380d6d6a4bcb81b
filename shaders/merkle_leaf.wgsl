// RFC 9162 leaf hashing: SHA-256(0x00 || record) for a batch of variable-length records
// packed back to back in one buffer. Needs sha256.wgsl in front of it.
//
// One invocation hashes one record. A record's words are read at any byte alignment with two
// storage loads and a funnel shift, so records need no padding between them; only the few
// words that straddle the prefix, the record's end or the padding are built byte by byte.

struct LeafParams {
    // Records in this batch.
    count: u32,
    // Where the batch's first hash goes in `hashes`, in hashes (32 bytes each).
    out_first: u32,
    // Workgroups per row of the dispatch grid (grids wider than 65535 wrap into rows).
    grid_width: u32,
    _pad: u32,
}

// The batch's records, back to back, as little-endian words; the host pads the end with
// at least one zero word so the funnel shift never reads past the buffer.
@group(0) @binding(0) var<storage, read> data: array<u32>;
// count + 1 byte offsets into `data`: record i is data[offsets[i] .. offsets[i + 1]].
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
// Output: eight big-endian state words per hash.
@group(0) @binding(2) var<storage, read_write> hashes: array<u32>;
@group(0) @binding(3) var<uniform> params: LeafParams;

fn data_byte(p: u32) -> u32 {
    return (data[p >> 2u] >> ((p & 3u) * 8u)) & 0xffu;
}

// Bytes p .. p + 4 of `data` as a big-endian message word, at any alignment.
fn data_word(p: u32) -> u32 {
    let q = p >> 2u;
    let shift = (p & 3u) * 8u;
    var v = data[q];
    if (shift != 0u) {
        v = (v >> shift) | (data[q + 1u] << (32u - shift));
    }
    return bswap32(v);
}

// Byte `p` of the padded message 0x00 || record || 0x80 || zeros (length words excluded),
// for a record of `len` bytes at `start`.
fn message_byte(start: u32, len: u32, p: u32) -> u32 {
    if (p == 0u) {
        return 0u;
    }
    if (p <= len) {
        return data_byte(start + p - 1u);
    }
    if (p == len + 1u) {
        return 0x80u;
    }
    return 0u;
}

// Big-endian message word at byte `p` of the padded message (without the length words).
fn message_word(start: u32, len: u32, p: u32) -> u32 {
    let msg_len = len + 1u;
    if (p >= 1u && p + 4u <= msg_len) {
        // Entirely record bytes: message byte p is record byte p - 1.
        return data_word(start + p - 1u);
    }
    if (p > msg_len) {
        return 0u;
    }
    return (message_byte(start, len, p) << 24u)
        | (message_byte(start, len, p + 1u) << 16u)
        | (message_byte(start, len, p + 2u) << 8u)
        | message_byte(start, len, p + 3u);
}

@compute @workgroup_size(64)
fn hash_leaves(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wg.y * params.grid_width + wg.x) * 64u + lid;
    if (i >= params.count) {
        return;
    }
    let start = offsets[i];
    let len = offsets[i + 1u] - start;
    // Message = prefix byte + record; padding adds 0x80 and the 64-bit bit length.
    let msg_len = len + 1u;
    let blocks = (msg_len + 8u) / 64u + 1u;
    var state = sha256_iv();
    for (var b = 0u; b < blocks; b++) {
        let base = b * 64u;
        let last = b + 1u == blocks;
        // Words 14 and 15 of the last block hold the bit length as a 64-bit big-endian
        // integer (records are < 2^32 bytes); the padding leaves those bytes zero.
        let m = array<u32, 16>(
            message_word(start, len, base),
            message_word(start, len, base + 4u),
            message_word(start, len, base + 8u),
            message_word(start, len, base + 12u),
            message_word(start, len, base + 16u),
            message_word(start, len, base + 20u),
            message_word(start, len, base + 24u),
            message_word(start, len, base + 28u),
            message_word(start, len, base + 32u),
            message_word(start, len, base + 36u),
            message_word(start, len, base + 40u),
            message_word(start, len, base + 44u),
            message_word(start, len, base + 48u),
            message_word(start, len, base + 52u),
            select(message_word(start, len, base + 56u), msg_len >> 29u, last),
            select(message_word(start, len, base + 60u), msg_len << 3u, last),
        );
        state = sha256_compress(state, m);
    }
    let out = (params.out_first + i) * 8u;
    let d = state.w;
    hashes[out] = d[0];
    hashes[out + 1u] = d[1];
    hashes[out + 2u] = d[2];
    hashes[out + 3u] = d[3];
    hashes[out + 4u] = d[4];
    hashes[out + 5u] = d[5];
    hashes[out + 6u] = d[6];
    hashes[out + 7u] = d[7];
}
