//! A tree kept whole, level by level, to serve proofs.
#![forbid(unsafe_code)]

use rayon::prelude::*;

use super::build::{SUBTREE_LEAVES, TreeHasher, first_duplicate};
use super::{DuplicatePair, HashPaths, MerkleError, OddNode, RootReport, Scheme};
use crate::{GpuFault, Placement};

/// A Merkle tree with every level kept, so it can prove any leaf's inclusion and its
/// consistency with any older size.
///
/// Memory: about `2n` hashes of 32 bytes (64 MiB for 2^20 leaves). Built in parallel, one
/// aligned subtree per task, on rayon's current pool.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    scheme: Scheme,
    /// `levels[0]` are the leaf hashes; `levels[j + 1][i]` is the parent of
    /// `levels[j][2i]` and `levels[j][2i + 1]` (or of the lone `levels[j][2i]`, by the
    /// scheme's odd-node rule). The last level has one node (none for the empty tree).
    levels: Vec<Vec<[u8; 32]>>,
    duplicate_pair: Option<DuplicatePair>,
    placement: Placement,
    gpu_fault: Option<GpuFault>,
}

impl MerkleTree {
    /// Builds the tree of `leaves` (raw records for RFC 9162; 32-byte transaction ids or
    /// hashes for the other schemes) with the fastest SHA-256 or SM3 path of this CPU.
    ///
    /// # Errors
    /// [`MerkleError::InvalidLeafLength`] for a leaf that is not 32 bytes (every scheme but
    /// RFC 9162); [`MerkleError::EmptyTree`] for no leaves under ChainMaker, whose trees of no
    /// leaves have no root.
    pub fn build<L: AsRef<[u8]> + Sync>(scheme: Scheme, leaves: &[L]) -> Result<Self, MerkleError> {
        Self::build_with(scheme, HashPaths::detect(), leaves)
    }

    /// [`MerkleTree::build`] with chosen hash paths.
    ///
    /// # Errors
    /// As [`MerkleTree::build`].
    #[doc(hidden)]
    pub fn build_with<L: AsRef<[u8]> + Sync>(
        scheme: Scheme,
        paths: impl Into<HashPaths>,
        leaves: &[L],
    ) -> Result<Self, MerkleError> {
        if leaves.is_empty() && scheme.empty_root().is_none() {
            return Err(MerkleError::EmptyTree { scheme });
        }
        let hasher = TreeHasher {
            scheme,
            paths: paths.into(),
        };
        let mut sizes = vec![leaves.len()];
        while let Some(&last) = sizes.last().filter(|&&s| s > 1) {
            sizes.push(last.div_ceil(2));
        }
        if leaves.is_empty() {
            sizes.clear();
        }
        let mut levels: Vec<Vec<[u8; 32]>> = sizes.iter().map(|&s| vec![[0u8; 32]; s]).collect();
        let subtree_height = SUBTREE_LEAVES.trailing_zeros() as usize;
        let low = levels.len().min(subtree_height + 1);
        let mut duplicate = None;

        // Bottom `low` levels: each aligned subtree writes its own slices of every level.
        {
            let mut per_subtree: Vec<Vec<&mut [[u8; 32]]>> = Vec::new();
            for (j, level) in levels[..low].iter_mut().enumerate() {
                for (c, slice) in level.chunks_mut(SUBTREE_LEAVES >> j).enumerate() {
                    if j == 0 {
                        per_subtree.push(Vec::with_capacity(low));
                    }
                    per_subtree[c].push(slice);
                }
            }
            let found = per_subtree
                .into_par_iter()
                .zip(leaves.par_chunks(SUBTREE_LEAVES))
                .enumerate()
                .map(
                    |(c, (mut slices, chunk))| -> Result<Option<DuplicatePair>, MerkleError> {
                        hasher.leaf_level(chunk, c * SUBTREE_LEAVES, slices[0])?;
                        let mut first = None;
                        for j in 1..slices.len() {
                            let (below, above) = slices.split_at_mut(j);
                            if let Some(i) = hasher.level_up(below[j - 1], above[0]) {
                                let index = ((c * SUBTREE_LEAVES) >> (j - 1)) as u64 + i;
                                first = first.or(Some(DuplicatePair {
                                    level: (j - 1) as u32,
                                    index,
                                }));
                            }
                        }
                        Ok(first)
                    },
                )
                .collect::<Result<Vec<_>, _>>()?;
            duplicate = found.into_iter().fold(duplicate, first_duplicate);
        }
        // The few levels above the subtrees, serially.
        for j in low..levels.len() {
            let (below, above) = levels.split_at_mut(j);
            if let Some(i) = hasher.level_up(&below[j - 1], &mut above[0]) {
                let found = DuplicatePair {
                    level: (j - 1) as u32,
                    index: i,
                };
                duplicate = first_duplicate(duplicate, Some(found));
            }
        }
        Ok(MerkleTree {
            scheme,
            levels,
            duplicate_pair: duplicate,
            placement: Placement::Cpu,
            gpu_fault: None,
        })
    }

    /// A tree whose levels up to `levels.len() - 1` were built elsewhere (the GPU backend,
    /// in aligned pieces); the levels above them are hashed here. `duplicate` is the first
    /// duplicate pair among the given levels.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn from_lower_levels(
        scheme: Scheme,
        mut levels: Vec<Vec<[u8; 32]>>,
        mut duplicate: Option<DuplicatePair>,
    ) -> Self {
        let hasher = TreeHasher::detected(scheme);
        while levels.last().is_some_and(|top| top.len() > 1) {
            let below = levels.last().expect("checked");
            let mut above = vec![[0u8; 32]; below.len().div_ceil(2)];
            if let Some(i) = hasher.level_up(below, &mut above) {
                let found = DuplicatePair {
                    level: (levels.len() - 1) as u32,
                    index: i,
                };
                duplicate = first_duplicate(duplicate, Some(found));
            }
            levels.push(above);
        }
        MerkleTree {
            scheme,
            levels,
            duplicate_pair: duplicate,
            placement: Placement::Gpu,
            gpu_fault: None,
        }
    }

    /// The same tree, saying where it was built and what the GPU did.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn on(mut self, placement: Placement, gpu_fault: Option<GpuFault>) -> Self {
        self.placement = placement;
        self.gpu_fault = gpu_fault;
        self
    }

    /// Where the tree was built: [`Placement::Cpu`] or [`Placement::Gpu`].
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// Set when the build was sent to the GPU and failed there: what went wrong. The tree was
    /// then built by the CPU engine and is the same tree.
    pub fn gpu_fault(&self) -> Option<GpuFault> {
        self.gpu_fault
    }

    /// The scheme the tree was built under.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The root hash (of the empty tree: [`Scheme::empty_root`], which every scheme that
    /// builds an empty tree has).
    pub fn root(&self) -> [u8; 32] {
        self.levels
            .last()
            .map(|top| top[0])
            .or_else(|| self.scheme.empty_root())
            .unwrap_or_default()
    }

    /// The root with what was seen building it (duplicate pairs, for the schemes that pair an
    /// odd node with itself).
    pub fn root_report(&self) -> RootReport {
        RootReport::new(self.root(), self.size(), self.duplicate_pair)
            .on(self.placement, self.gpu_fault)
    }

    /// Leaf `index`'s hash (the leaf itself for every scheme but RFC 9162).
    pub fn leaf_hash(&self, index: u64) -> Option<[u8; 32]> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// The audit path of leaf `index`: sibling hashes from the leaf's level upward, as RFC
    /// 9162 §2.1.3.1 `PATH(m, D[n])`. A lone last node has no sibling: it contributes no entry
    /// where the scheme moves it up or hashes it alone (RFC 9162, FISCO BCOS), and itself where
    /// it is paired with itself (Bitcoin's Merkle branch, ChainMaker's `GetMerklePath`).
    /// O(log n). FISCO BCOS's own proof layout is [`MerkleTree::fisco_proof`].
    ///
    /// # Errors
    /// [`MerkleError::IndexOutOfRange`] if `index >= size`.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<[u8; 32]>, MerkleError> {
        let size = self.size();
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        let mut path = Vec::new();
        let mut i = index as usize;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            match (level.get(sibling), self.scheme.odd_node()) {
                (Some(node), _) => path.push(*node),
                (None, OddNode::PairWithItself) => path.push(level[i]),
                (None, OddNode::Promote | OddNode::HashAlone) => {}
            }
            i /= 2;
        }
        Ok(path)
    }

    /// Leaf `index`'s inclusion proof in FISCO BCOS's own layout, as FISCO's
    /// `generateMerkleProof` (`bcos-crypto/merkle/Merkle.h`) writes it and its RPC serves it
    /// (`txProof`): for each level from the leaves up to below the root, a count element
    /// (the count as a 4-byte big-endian number, then 28 zero bytes: FISCO's proofs are
    /// vectors of 32-byte hashes) followed by that group's 1 or 2 nodes, the proven node among
    /// them. A one-leaf tree's proof is the leaf alone. Check it with
    /// [`verify_fisco_inclusion`](super::verify_fisco_inclusion).
    ///
    /// # Errors
    /// [`MerkleError::Unsupported`] for other schemes; [`MerkleError::IndexOutOfRange`] if
    /// `index >= size`.
    pub fn fisco_proof(&self, index: u64) -> Result<Vec<[u8; 32]>, MerkleError> {
        if self.scheme != Scheme::FiscoBcos {
            return Err(MerkleError::Unsupported {
                scheme: self.scheme,
                what: "FISCO BCOS proofs",
            });
        }
        let size = self.size();
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        let mut i = index as usize;
        let mut proof = Vec::new();
        if size == 1 {
            proof.push(self.levels[0][0]);
        }
        for level in self.levels.iter().take_while(|level| level.len() > 1) {
            let start = i & !1;
            let group = &level[start..level.len().min(start + 2)];
            proof.push(super::proof::fisco_count_element(group.len() as u32));
            proof.extend_from_slice(group);
            i /= 2;
        }
        Ok(proof)
    }

    /// The proof that the tree's first `old` leaves are a prefix of it: RFC 9162 §2.1.4.1
    /// `PROOF(m, D[n])`. Empty when `old` is 0 or equals the size.
    ///
    /// # Errors
    /// [`MerkleError::SizeOutOfRange`] if `old > size`; [`MerkleError::Unsupported`] for
    /// every scheme but RFC 9162.
    pub fn consistency_proof(&self, old: u64) -> Result<Vec<[u8; 32]>, MerkleError> {
        let size = self.size();
        if self.scheme != Scheme::Rfc9162 {
            return Err(MerkleError::Unsupported {
                scheme: self.scheme,
                what: "consistency proofs",
            });
        }
        if old > size {
            return Err(MerkleError::SizeOutOfRange { old, size });
        }
        let mut proof = Vec::new();
        if old > 0 && old < size {
            self.subproof(old, 0, size, true, &mut proof);
        }
        Ok(proof)
    }

    /// RFC 9162 §2.1.4.1 `SUBPROOF(m, D[start:end], b)`.
    fn subproof(&self, m: u64, start: u64, end: u64, complete: bool, proof: &mut Vec<[u8; 32]>) {
        let n = end - start;
        if m == n {
            if !complete {
                proof.push(self.subtree_hash(start, end));
            }
            return;
        }
        let k = largest_power_of_two_below(n);
        if m <= k {
            self.subproof(m, start, start + k, complete, proof);
            proof.push(self.subtree_hash(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, proof);
            proof.push(self.subtree_hash(start, start + k));
        }
    }

    /// `MTH(D[start:end])` for the ranges RFC 9162's proofs ask for: aligned power-of-two
    /// ranges, and ranges that end at the tree's right edge and start on a boundary of their
    /// own height. Both are single stored nodes.
    fn subtree_hash(&self, start: u64, end: u64) -> [u8; 32] {
        let height = (end - start).next_power_of_two().trailing_zeros() as usize;
        self.levels[height][(start >> height) as usize]
    }
}

/// The largest power of two strictly below `n` (`n` ≥ 2).
pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// RFC 9162 §2.1.1 `MTH(D[n])` by its recursive definition, over leaf hashes: the reference.
pub(crate) fn rfc9162_mth(hasher: &TreeHasher, leaf_hashes: &[[u8; 32]]) -> [u8; 32] {
    match leaf_hashes.len() {
        0 => super::sha256::sha256(b""),
        1 => leaf_hashes[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            let left = rfc9162_mth(hasher, &leaf_hashes[..k]);
            let right = rfc9162_mth(hasher, &leaf_hashes[k..]);
            hasher.node(&left, &right)
        }
    }
}
