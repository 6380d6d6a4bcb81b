// Merkle level reduction, fused: each workgroup takes 512 consecutive nodes of a level and
// hashes them up `levels` levels (1 to 9) inside workgroup memory, writing 512 >> levels
// parents. Needs sha256.wgsl in front of it.
//
// A block of 512 nodes starting at a multiple of 512 is an aligned subtree's worth of a
// level, so its parents at every height are exactly the tree's own nodes there; only the
// last, partial block sees the level's end, and it applies the scheme's rule for an odd last
// node there (RFC 9162: moves up unchanged; Bitcoin: hashed with itself), which is where the
// whole level's odd node is. The host picks `levels` so a pass never climbs past the height
// it wants (the root, or a piece's subtree height).

struct ReduceParams {
    // Nodes in the input level.
    count: u32,
    // Levels to climb in this pass (1..=9).
    levels: u32,
    // Height of the input level within the piece (indexes `duplicates`).
    base_level: u32,
    // Bit 0: Bitcoin (double SHA-256, odd node hashed with itself, duplicate pairs recorded);
    // bit 1: the input is raw 32-byte ids as stored in memory, not state words.
    flags: u32,
    // Workgroups per row of the dispatch grid.
    grid_width: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const FLAG_BITCOIN: u32 = 1u;
const FLAG_RAW_INPUT: u32 = 2u;
// A workgroup's share of the input level.
const TILE: u32 = 512u;

@group(0) @binding(0) var<storage, read> nodes_in: array<u32>;
@group(0) @binding(1) var<storage, read_write> nodes_out: array<u32>;
// Per level of the piece, the smallest index (within the level) of the left node of an
// identical sibling pair: the CVE-2012-2459 mutation. 0xffffffff = none.
@group(0) @binding(2) var<storage, read_write> duplicates: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: ReduceParams;

// After the first level a workgroup holds at most 256 nodes (8 KiB).
var<workgroup> tile: array<Digest, 256>;

// Word k of input node i, byte-swapped from raw id bytes when the flag says so.
fn input_word(i: u32, k: u32) -> u32 {
    let v = nodes_in[i * 8u + k];
    return select(v, bswap32(v), (params.flags & FLAG_RAW_INPUT) != 0u);
}

// (Written out word by word: constant indices keep digests in registers.)
fn load_input(i: u32) -> Digest {
    return Digest(array<u32, 8>(
        input_word(i, 0u), input_word(i, 1u), input_word(i, 2u), input_word(i, 3u),
        input_word(i, 4u), input_word(i, 5u), input_word(i, 6u), input_word(i, 7u),
    ));
}

fn same(a: Digest, b: Digest) -> bool {
    let x = a.w;
    let y = b.w;
    return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3]
        && x[4] == y[4] && x[5] == y[5] && x[6] == y[6] && x[7] == y[7];
}

// The parent of `left` and `right` (`has_right` false: `left` is a level's odd last node).
// `index` is the left child's index within its level, for duplicate-pair reports.
fn parent(left: Digest, right: Digest, has_right: bool, level: u32, index: u32) -> Digest {
    if ((params.flags & FLAG_BITCOIN) != 0u) {
        if (has_right) {
            if (same(left, right)) {
                atomicMin(&duplicates[level], index);
            }
            return bitcoin_node(left, right);
        }
        return bitcoin_node(left, left);
    }
    if (has_right) {
        return rfc9162_node(left, right);
    }
    return left;
}

@compute @workgroup_size(256)
fn reduce_levels(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = wg.y * params.grid_width + wg.x;
    let first = group * TILE;
    if (first >= params.count) {
        return;
    }
    // Nodes this workgroup holds at the current height: all 512, or the level's tail.
    var held = min(TILE, params.count - first);

    // First level straight from the input buffer.
    var parents = (held + 1u) / 2u;
    if (lid < parents) {
        let l = first + 2u * lid;
        let has_right = 2u * lid + 1u < held;
        let left = load_input(l);
        var right = left;
        if (has_right) {
            right = load_input(l + 1u);
        }
        tile[lid] = parent(left, right, has_right, params.base_level, l);
    }
    held = parents;
    workgroupBarrier();

    // Further levels in workgroup memory.
    for (var level = 1u; level < params.levels; level++) {
        parents = (held + 1u) / 2u;
        var node: Digest;
        if (lid < parents) {
            let has_right = 2u * lid + 1u < held;
            let left = tile[2u * lid];
            var right = left;
            if (has_right) {
                right = tile[2u * lid + 1u];
            }
            let index = (first >> level) + 2u * lid;
            node = parent(left, right, has_right, params.base_level + level, index);
        }
        workgroupBarrier();
        if (lid < parents) {
            tile[lid] = node;
        }
        held = parents;
        workgroupBarrier();
    }

    if (lid < held) {
        let out = ((first >> params.levels) + lid) * 8u;
        let node = tile[lid].w;
        nodes_out[out] = node[0];
        nodes_out[out + 1u] = node[1];
        nodes_out[out + 2u] = node[2];
        nodes_out[out + 3u] = node[3];
        nodes_out[out + 4u] = node[4];
        nodes_out[out + 5u] = node[5];
        nodes_out[out + 6u] = node[6];
        nodes_out[out + 7u] = node[7];
    }
}
