//! An append-only log's tree in O(log n) memory.
#![forbid(unsafe_code)]

use super::build::{TreeHasher, first_duplicate};
use super::{DuplicatePair, HashPaths, MerkleError, RootReport, Scheme};

/// The growing tree of an append-only log, kept as its frontier: the roots of the complete
/// subtrees that tile the leaves so far, one per set bit of the size (at most 64 hashes).
///
/// Appending costs amortised two node hashes; [`root`](IncrementalTree::root) costs one
/// hash per set bit of the size. The root always equals [`MerkleTree::build`]'s over the same
/// leaves (tests check this for every size up to 300 and random larger ones).
///
/// **Limits, by design**: the frontier holds no interior nodes, so this type cannot produce
/// inclusion or consistency proofs; a log that serves proofs keeps the leaves' levels, i.e. a
/// [`MerkleTree`](super::MerkleTree) (rebuilt, or kept beside this type). The frontier can be
/// saved ([`frontier`](IncrementalTree::frontier)) and restored
/// ([`from_frontier`](IncrementalTree::from_frontier)) to resume a log after a restart.
///
/// [`MerkleTree::build`]: super::MerkleTree::build
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncrementalTree {
    scheme: Scheme,
    size: u64,
    /// `frontier[j]` is the root of a complete subtree of `2^j` leaves when bit `j` of `size`
    /// is set.
    frontier: [[u8; 32]; 64],
    duplicate_pair: Option<DuplicatePair>,
}

impl IncrementalTree {
    /// The largest size [`from_frontier`](IncrementalTree::from_frontier) accepts: 2^63
    /// leaves, leaving 2^63 appends of headroom before the size counter could overflow.
    pub const MAX_RESTORED_SIZE: u64 = 1 << 63;

    /// An empty log.
    pub fn new(scheme: Scheme) -> Self {
        IncrementalTree {
            scheme,
            size: 0,
            frontier: [[0; 32]; 64],
            duplicate_pair: None,
        }
    }

    /// Restores a log from its size and [`frontier`](IncrementalTree::frontier) hashes
    /// (highest level first). Returns `None` if the number of hashes is not the number of set
    /// bits of `size`, or if `size` exceeds [`IncrementalTree::MAX_RESTORED_SIZE`] (a saved
    /// state is outside input; a size near `u64::MAX` would leave no room to append).
    ///
    /// A restored Bitcoin or ChainMaker log reports duplicate pairs found after the restore and on the
    /// current right edge; pairs inside the restored subtrees were the saver's to report.
    pub fn from_frontier(scheme: Scheme, size: u64, hashes: &[[u8; 32]]) -> Option<Self> {
        if size > Self::MAX_RESTORED_SIZE || hashes.len() != size.count_ones() as usize {
            return None;
        }
        let mut tree = IncrementalTree::new(scheme);
        tree.size = size;
        let levels = (0..64).rev().filter(|j| size >> j & 1 == 1);
        for (j, hash) in levels.zip(hashes) {
            tree.frontier[j] = *hash;
        }
        Some(tree)
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier hashes, highest level first (one per set bit of the size).
    pub fn frontier(&self) -> Vec<[u8; 32]> {
        (0..64)
            .rev()
            .filter(|j| self.size >> j & 1 == 1)
            .map(|j| self.frontier[j])
            .collect()
    }

    /// Appends one leaf (a record for RFC 9162, a 32-byte id or hash for the other schemes).
    ///
    /// # Errors
    /// [`MerkleError::InvalidLeafLength`] for a leaf of those schemes that is not 32 bytes (the log
    /// is unchanged).
    pub fn append(&mut self, leaf: &[u8]) -> Result<(), MerkleError> {
        let hash = self.scheme.leaf_hash(leaf).map_err(|e| match e {
            MerkleError::InvalidLeafLength { len, .. } => MerkleError::InvalidLeafLength {
                index: self.size as usize,
                len,
            },
            other => other,
        })?;
        self.append_leaf_hash(hash);
        Ok(())
    }

    /// Appends many leaves, hashing them with the multi-buffer SHA-256 first.
    ///
    /// # Errors
    /// As [`append`](IncrementalTree::append); on error nothing is appended.
    pub fn append_many<L: AsRef<[u8]>>(&mut self, leaves: &[L]) -> Result<(), MerkleError> {
        let hasher = TreeHasher {
            scheme: self.scheme,
            paths: HashPaths::detect(),
        };
        let mut hashes = vec![[0u8; 32]; leaves.len()];
        hasher.leaf_level(leaves, self.size as usize, &mut hashes)?;
        for hash in hashes {
            self.append_leaf_hash(hash);
        }
        Ok(())
    }

    /// Appends a leaf already hashed with [`Scheme::leaf_hash`].
    pub fn append_leaf_hash(&mut self, leaf_hash: [u8; 32]) {
        let mut carry = leaf_hash;
        let mut level = 0;
        while self.size >> level & 1 == 1 {
            let left = self.frontier[level];
            if self.scheme.pairs_odd_node_with_itself() && left == carry {
                let index = (self.size >> level) - 1;
                let found = DuplicatePair {
                    level: level as u32,
                    index,
                };
                self.duplicate_pair = first_duplicate(self.duplicate_pair, Some(found));
            }
            carry = self.scheme.node_hash(&left, &carry);
            level += 1;
        }
        self.frontier[level] = carry;
        self.size += 1;
    }

    /// The root at the current size.
    ///
    /// # Errors
    /// [`MerkleError::EmptyTree`] for an empty ChainMaker log (no root, as
    /// [`merkle_root`](super::merkle_root) says).
    pub fn root(&self) -> Result<[u8; 32], MerkleError> {
        self.root_report().map(|report| report.root())
    }

    /// The root at the current size, with the first duplicate pair seen (schemes that pair an
    /// odd node with itself; including pairs on the tree's right edge, exactly as a
    /// whole-tree build reports them).
    ///
    /// # Errors
    /// As [`IncrementalTree::root`].
    pub fn root_report(&self) -> Result<RootReport, MerkleError> {
        let size = self.size;
        if size == 0 {
            let scheme = self.scheme;
            let root = scheme
                .empty_root()
                .ok_or(MerkleError::EmptyTree { scheme })?;
            return Ok(RootReport::new(root, 0, None));
        }
        let top = 63 - size.leading_zeros() as usize;
        let mut duplicate = self.duplicate_pair;
        // `partial`: the node at the current level covering the leaves right of the complete
        // subtrees already passed; it is the odd last node of its level until it meets one.
        let mut partial: Option<[u8; 32]> = None;
        for level in 0..=top {
            let has_subtree = size >> level & 1 == 1;
            partial = match (partial, has_subtree) {
                (None, false) => None,
                (None, true) if level == top => Some(self.frontier[level]),
                (None, true) => Some(self.raise(self.frontier[level])),
                (Some(right), true) => {
                    let left = self.frontier[level];
                    if self.scheme.pairs_odd_node_with_itself() && left == right {
                        let found = DuplicatePair {
                            level: level as u32,
                            index: (size >> level) - 1,
                        };
                        duplicate = first_duplicate(duplicate, Some(found));
                    }
                    Some(self.scheme.node_hash(&left, &right))
                }
                (Some(right), false) => Some(self.raise(right)),
            };
        }
        let root = partial.expect("a non-empty log has a top subtree");
        Ok(RootReport::new(root, size, duplicate))
    }

    /// The parent of a lone last node, by the scheme's rule.
    fn raise(&self, node: [u8; 32]) -> [u8; 32] {
        self.scheme.lone_node_hash(&node)
    }
}
