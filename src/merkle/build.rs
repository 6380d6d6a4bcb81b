//! Building levels: leaf hashing, one level up, aligned subtrees in parallel.
#![forbid(unsafe_code)]

use rayon::prelude::*;

use super::{DuplicatePair, HashPaths, MerkleError, OddNode, RootReport, Scheme, TreeHash};

/// Leaves per subtree task (a power of two). 4096 leaves make 128 KiB of leaf hashes, which
/// with their levels stay in L2 (1.25 MiB per core on the reference Ice Lake Xeon) while the
/// subtree is built, and 2^20 leaves still give 256 tasks to balance across threads. Chosen
/// by that cache arithmetic; other sizes have not been benchmarked yet.
pub const SUBTREE_LEAVES: usize = 1 << 12;

/// The hashing a tree needs, for one scheme on chosen SHA-256 and SM3 paths.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TreeHasher {
    pub(crate) scheme: Scheme,
    pub(crate) paths: HashPaths,
}

impl TreeHasher {
    /// The hasher on this CPU's fastest paths.
    pub(crate) fn detected(scheme: Scheme) -> Self {
        TreeHasher {
            scheme,
            paths: HashPaths::detect(),
        }
    }

    /// One leaf's hash (see [`Scheme::leaf_hash`]).
    pub(crate) fn leaf(&self, data: &[u8]) -> Result<[u8; 32], MerkleError> {
        let mut out = [[0u8; 32]; 1];
        self.leaf_level(&[data], 0, &mut out)?;
        Ok(out[0])
    }

    /// One parent (see [`Scheme::node_hash`]).
    pub(crate) fn node(&self, left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        let mut out = [[0u8; 32]; 1];
        self.pairs(&[*left, *right], &mut out);
        out[0]
    }

    /// The parent of an odd last node (see [`Scheme::lone_node_hash`]).
    pub(crate) fn lone(&self, node: &[u8; 32]) -> [u8; 32] {
        match self.scheme.odd_node() {
            OddNode::Promote => *node,
            OddNode::PairWithItself => self.node(node, node),
            OddNode::HashAlone => {
                let mut out = [[0u8; 32]; 1];
                match self.scheme.tree_hash() {
                    TreeHash::Sm3 => self.paths.sm3.hash_into(&[node], &mut out),
                    TreeHash::Sha256 => {
                        self.paths
                            .sha256
                            .hash_prefixed_into(None, &[node], &mut out)
                    }
                }
                out[0]
            }
        }
    }

    /// `parents[i]` = the parent of `children[2i]` and `children[2i + 1]`, many at a time,
    /// for `i < min(parents.len(), children.len() / 2)`.
    fn pairs(&self, children: &[[u8; 32]], parents: &mut [[u8; 32]]) {
        let sha256 = self.paths.sha256;
        match self.scheme {
            Scheme::Rfc9162 => sha256.hash_rfc9162_nodes(children, parents),
            Scheme::Bitcoin => sha256.hash_bitcoin_nodes(children, parents),
            Scheme::ChainMakerSha256 => sha256.hash_concat_nodes(children, parents),
            Scheme::FiscoBcos | Scheme::ChainMakerSm3 => {
                self.paths.sm3.hash_pairs(children, parents)
            }
        }
    }

    /// Level 0: RFC 9162 leaf hashes, or (every other scheme) 32-byte leaves checked for
    /// length and copied. `first_index` is the position of `leaves[0]` in the whole tree, for
    /// error reports.
    pub(crate) fn leaf_level<L: AsRef<[u8]>>(
        &self,
        leaves: &[L],
        first_index: usize,
        out: &mut [[u8; 32]],
    ) -> Result<(), MerkleError> {
        if self.scheme.hashes_leaves() {
            self.paths
                .sha256
                .hash_prefixed_into(Some(0x00), leaves, out);
            return Ok(());
        }
        for (i, (leaf, o)) in leaves.iter().zip(out.iter_mut()).enumerate() {
            let leaf = leaf.as_ref();
            *o = leaf
                .try_into()
                .map_err(|_| MerkleError::InvalidLeafLength {
                    index: first_index + i,
                    len: leaf.len(),
                })?;
        }
        Ok(())
    }

    /// One level up: `parents` must hold `children.len().div_ceil(2)` nodes. An odd last child
    /// follows the scheme's rule ([`TreeHasher::lone`]). Returns the local index of the first
    /// identical sibling pair (schemes that pair an odd node with itself only).
    pub(crate) fn level_up(&self, children: &[[u8; 32]], parents: &mut [[u8; 32]]) -> Option<u64> {
        let pairs = children.len() / 2;
        self.pairs(children, &mut parents[..pairs]);
        if children.len() % 2 == 1 {
            parents[pairs] = self.lone(&children[children.len() - 1]);
        }
        if self.scheme.pairs_odd_node_with_itself() {
            children
                .chunks_exact(2)
                .position(|pair| pair[0] == pair[1])
                .map(|i| 2 * i as u64)
        } else {
            None
        }
    }
}

/// The earlier (lower level, then lower index) of two duplicate-pair findings: the one a
/// report names, whatever order subtrees or appends found them in.
pub(crate) fn first_duplicate(
    a: Option<DuplicatePair>,
    b: Option<DuplicatePair>,
) -> Option<DuplicatePair> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if (y.level, y.index) < (x.level, x.index) {
            y
        } else {
            x
        }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Hashes `level` up until it is one node, or to exactly `subtree_height` when given (a
/// subtree of a larger tree), ping-ponging between `level` and `spare`. `base_level`/`base_index` place the first node in the whole tree so
/// duplicate pairs are reported in global coordinates. Returns the top level reached.
fn climb(
    hasher: &TreeHasher,
    level: &mut Vec<[u8; 32]>,
    spare: &mut Vec<[u8; 32]>,
    base_level: u32,
    base_index: u64,
    subtree_height: Option<u32>,
    duplicate: &mut Option<DuplicatePair>,
) -> u32 {
    let stop_level = subtree_height.unwrap_or(u32::MAX);
    let mut height = base_level;
    while level.len() > 1 && height < stop_level {
        spare.clear();
        spare.resize(level.len().div_ceil(2), [0; 32]);
        if let Some(i) = hasher.level_up(level, spare) {
            let found = DuplicatePair {
                level: height,
                index: (base_index >> (height - base_level)) + i,
            };
            *duplicate = first_duplicate(*duplicate, Some(found));
        }
        std::mem::swap(level, spare);
        height += 1;
    }
    // A lone last node of a subtree is the odd last node of each level of the whole tree up
    // to the subtree's full height, so it gets the scheme's odd-node rule at each (nothing
    // to do where the rule moves it up unchanged).
    while subtree_height.is_some()
        && height < stop_level
        && hasher.scheme.odd_node() != OddNode::Promote
    {
        level[0] = hasher.lone(&level[0]);
        height += 1;
    }
    height
}

/// The root on one thread: subtrees in order, then the top.
pub(crate) fn root_serial<L: AsRef<[u8]>>(
    scheme: Scheme,
    paths: HashPaths,
    leaves: &[L],
) -> Result<RootReport, MerkleError> {
    let hasher = TreeHasher { scheme, paths };
    if leaves.len() <= SUBTREE_LEAVES {
        return whole_tree_root(&hasher, leaves);
    }
    let mut scratch = (Vec::new(), Vec::new());
    let subtrees = leaves
        .chunks(SUBTREE_LEAVES)
        .enumerate()
        .map(|(c, chunk)| subtree_root(&hasher, chunk, c, &mut scratch))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(combine_subtrees(
        &hasher,
        leaves.len(),
        subtrees,
        SUBTREE_LEAVES.trailing_zeros(),
    ))
}

/// The root on rayon's current pool: one task per aligned subtree.
pub(crate) fn root_parallel<L: AsRef<[u8]> + Sync>(
    scheme: Scheme,
    paths: HashPaths,
    leaves: &[L],
) -> Result<RootReport, MerkleError> {
    let hasher = TreeHasher { scheme, paths };
    if leaves.len() <= SUBTREE_LEAVES {
        return whole_tree_root(&hasher, leaves);
    }
    let subtrees = leaves
        .par_chunks(SUBTREE_LEAVES)
        .enumerate()
        .map_init(
            || (Vec::new(), Vec::new()),
            |scratch, (c, chunk)| subtree_root(&hasher, chunk, c, scratch),
        )
        .collect::<Result<Vec<_>, _>>()?;
    Ok(combine_subtrees(
        &hasher,
        leaves.len(),
        subtrees,
        SUBTREE_LEAVES.trailing_zeros(),
    ))
}

/// A tree small enough to be one subtree.
fn whole_tree_root<L: AsRef<[u8]>>(
    hasher: &TreeHasher,
    leaves: &[L],
) -> Result<RootReport, MerkleError> {
    if leaves.is_empty() {
        let scheme = hasher.scheme;
        let root = scheme
            .empty_root()
            .ok_or(MerkleError::EmptyTree { scheme })?;
        return Ok(RootReport::new(root, 0, None));
    }
    let mut level = vec![[0u8; 32]; leaves.len()];
    hasher.leaf_level(leaves, 0, &mut level)?;
    let mut duplicate = None;
    climb(
        hasher,
        &mut level,
        &mut Vec::new(),
        0,
        0,
        None,
        &mut duplicate,
    );
    Ok(RootReport::new(level[0], leaves.len() as u64, duplicate))
}

/// Subtree `index` (of `SUBTREE_LEAVES` leaves, the last one possibly fewer) raised to the
/// subtree height, with its first duplicate pair.
fn subtree_root<L: AsRef<[u8]>>(
    hasher: &TreeHasher,
    chunk: &[L],
    index: usize,
    (level, spare): &mut (Vec<[u8; 32]>, Vec<[u8; 32]>),
) -> Result<([u8; 32], Option<DuplicatePair>), MerkleError> {
    level.clear();
    level.resize(chunk.len(), [0; 32]);
    hasher.leaf_level(chunk, index * SUBTREE_LEAVES, level)?;
    let mut duplicate = None;
    let height = SUBTREE_LEAVES.trailing_zeros();
    climb(
        hasher,
        level,
        spare,
        0,
        (index * SUBTREE_LEAVES) as u64,
        Some(height),
        &mut duplicate,
    );
    Ok((level[0], duplicate))
}

/// The tree above the roots of aligned subtrees of height `height` (all full but the last,
/// which has been raised to `height` too).
pub(crate) fn combine_subtrees(
    hasher: &TreeHasher,
    leaves: usize,
    subtrees: Vec<([u8; 32], Option<DuplicatePair>)>,
    height: u32,
) -> RootReport {
    let mut duplicate = subtrees
        .iter()
        .fold(None, |acc, (_, d)| first_duplicate(acc, *d));
    let mut level: Vec<[u8; 32]> = subtrees.into_iter().map(|(root, _)| root).collect();
    climb(
        hasher,
        &mut level,
        &mut Vec::new(),
        height,
        0,
        None,
        &mut duplicate,
    );
    RootReport::new(level[0], leaves as u64, duplicate)
}
