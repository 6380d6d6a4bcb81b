// Merkle level reduction, fused: each workgroup takes 512 consecutive nodes of a level and
// hashes them up `levels` levels (1 to 9) inside workgroup memory, writing 512 >> levels
// parents. Serves every scheme: the hash file in front of it (after digest.wgsl) is
// sha256.wgsl or sm3.wgsl, whose `merkle_hash(left, right, alone, variant)` is the node hash
// (the variant picks among the family's node hashes) or, with `alone`, the hash of one node.
//
// A block of 512 nodes starting at a multiple of 512 is an aligned subtree's worth of a
// level, so its parents at every height are exactly the tree's own nodes there; only the
// last, partial block sees the level's end, and it applies the scheme's rule for an odd last
// node there (moved up unchanged, hashed with itself, or hashed alone), which is where the
// whole level's odd node is. The host picks `levels` so a pass never climbs past the height
// it wants (the root, or a piece's subtree height); a lone node kept below that height is the
// odd last node of each level it climbs, so it gets the rule at each.

struct ReduceParams {
    // Nodes in the input level.
    count: u32,
    // Levels to climb in this pass (1..=9).
    levels: u32,
    // Height of the input level within the piece (indexes `duplicates`).
    base_level: u32,
    // Bits 0-1: the odd-node rule (ODD_*); bit 2: the input is raw 32-byte hashes as stored
    // in memory, not state words; bits 8-15: the node hash variant of the hash file.
    flags: u32,
    // Workgroups per row of the dispatch grid.
    grid_width: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// The odd-node rules.
const ODD_PROMOTE: u32 = 0u;
const ODD_PAIR_WITH_ITSELF: u32 = 1u;
const ODD_HASH_ALONE: u32 = 2u;
const ODD_MASK: u32 = 3u;
const FLAG_RAW_INPUT: u32 = 4u;
const VARIANT_SHIFT: u32 = 8u;
const VARIANT_MASK: u32 = 0xffu;
// A workgroup's share of the input level.
const TILE: u32 = 512u;

@group(0) @binding(0) var<storage, read> nodes_in: array<u32>;
@group(0) @binding(1) var<storage, read_write> nodes_out: array<u32>;
// Per level of the piece, the smallest index (within the level) of the left node of an
// identical sibling pair: the CVE-2012-2459 mutation, recorded where an odd node is paired
// with itself. 0xffffffff = none.
@group(0) @binding(2) var<storage, read_write> duplicates: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: ReduceParams;

// After the first level a workgroup holds at most 256 nodes (8 KiB).
var<workgroup> tile: array<Digest, 256>;

// Word k of input node i, byte-swapped from raw hash bytes when the flag says so.
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

// The parent of `left` and `right` (`has_right` false: `left` is a level's odd last node, and
// `right` is a copy of it). `index` is the left child's index within its level, for
// duplicate-pair reports. The one call site of `merkle_hash` in the kernel (see its comment).
fn parent(left: Digest, right: Digest, has_right: bool, level: u32, index: u32) -> Digest {
    let odd = params.flags & ODD_MASK;
    if (!has_right && odd == ODD_PROMOTE) {
        return left;
    }
    if (has_right && odd == ODD_PAIR_WITH_ITSELF && same(left, right)) {
        atomicMin(&duplicates[level], index);
    }
    let alone = !has_right && odd == ODD_HASH_ALONE;
    return merkle_hash(left, right, alone, (params.flags >> VARIANT_SHIFT) & VARIANT_MASK);
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

    // Every level in one loop, the first read straight from the input buffer and the others
    // from workgroup memory, so the kernel has one call site of `parent` (see `merkle_hash`).
    for (var level = 0u; level < params.levels; level++) {
        let parents = (held + 1u) / 2u;
        var node: Digest;
        if (lid < parents) {
            let has_right = 2u * lid + 1u < held;
            // The left child's index within its level.
            let index = (first >> level) + 2u * lid;
            var left: Digest;
            var right: Digest;
            if (level == 0u) {
                left = load_input(index);
                right = left;
                if (has_right) {
                    right = load_input(index + 1u);
                }
            } else {
                left = tile[2u * lid];
                right = left;
                if (has_right) {
                    right = tile[2u * lid + 1u];
                }
            }
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
