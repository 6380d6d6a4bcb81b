//! A tree kept whole, level by level, to serve proofs.
#![forbid(unsafe_code)]

use rayon::prelude::*;

use super::build::{SUBTREE_LEAVES, TreeHasher, first_duplicate};
use super::sha256::Platform;
use super::{DuplicatePair, MerkleError, RootReport, Scheme};
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
    /// `levels[j][2i]` and `levels[j][2i + 1]` (or of the lone `levels[j][2i]`: moved up
    /// unchanged under RFC 9162, hashed with itself under Bitcoin). The last level has one node
    /// (none for the empty tree).
    levels: Vec<Vec<[u8; 32]>>,
    duplicate_pair: Option<DuplicatePair>,
    placement: Placement,
    gpu_fault: Option<GpuFault>,
}

impl MerkleTree {
    /// Builds the tree of `leaves` (raw records for RFC 9162; 32-byte txids for Bitcoin) with
    /// the fastest SHA-256 path of this CPU.
    ///
    /// # Errors
    /// [`MerkleError::InvalidLeafLength`] for a Bitcoin leaf that is not 32 bytes.
    pub fn build<L: AsRef<[u8]> + Sync>(scheme: Scheme, leaves: &[L]) -> Result<Self, MerkleError> {
        Self::build_with(scheme, Platform::detect(), leaves)
    }

    /// [`MerkleTree::build`] with a chosen SHA-256 path.
    ///
    /// # Errors
    /// As [`MerkleTree::build`].
    #[doc(hidden)]
    pub fn build_with<L: AsRef<[u8]> + Sync>(
        scheme: Scheme,
        platform: Platform,
        leaves: &[L],
    ) -> Result<Self, MerkleError> {
        let hasher = TreeHasher { scheme, platform };
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

    /// The root hash.
    pub fn root(&self) -> [u8; 32] {
        self.levels
            .last()
            .map_or_else(|| self.scheme.empty_root(), |top| top[0])
    }

    /// The root with what was seen building it (Bitcoin duplicate pairs).
    pub fn root_report(&self) -> RootReport {
        RootReport::new(self.root(), self.size(), self.duplicate_pair)
            .on(self.placement, self.gpu_fault)
    }

    /// Leaf `index`'s hash (the leaf itself for Bitcoin).
    pub fn leaf_hash(&self, index: u64) -> Option<[u8; 32]> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// The audit path of leaf `index`: sibling hashes from the leaf's level upward, as RFC
    /// 9162 §2.1.3.1 `PATH(m, D[n])` (for Bitcoin, the block's Merkle branch, a lone node's
    /// sibling being itself). O(log n).
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
            match (level.get(sibling), self.scheme) {
                (Some(node), _) => path.push(*node),
                // A lone last node: moved up (no entry) or paired with itself.
                (None, Scheme::Rfc9162) => {}
                (None, _) => path.push(level[i]),
            }
            i /= 2;
        }
        Ok(path)
    }

    /// The proof that the tree's first `old` leaves are a prefix of it: RFC 9162 §2.1.4.1
    /// `PROOF(m, D[n])`. Empty when `old` is 0 or equals the size.
    ///
    /// # Errors
    /// [`MerkleError::SizeOutOfRange`] if `old > size`; [`MerkleError::Unsupported`] for
    /// Bitcoin trees.
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
        0 => Scheme::Rfc9162.empty_root(),
        1 => leaf_hashes[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            let left = rfc9162_mth(hasher, &leaf_hashes[..k]);
            let right = rfc9162_mth(hasher, &leaf_hashes[k..]);
            hasher.node(&left, &right)
        }
    }
}
