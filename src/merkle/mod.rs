//! Merkle trees: roots, proofs and append-only logs for RFC 9162 and Bitcoin trees.
//!
//! ```
//! use blockverify::merkle::{self, MerkleTree, Scheme};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let records: Vec<Vec<u8>> = (0..1000u32).map(|i| format!("certificate {i}").into_bytes()).collect();
//! let tree = MerkleTree::build(Scheme::Rfc9162, &records)?;
//! let root = tree.root();
//! assert_eq!(root, merkle::merkle_root(Scheme::Rfc9162, &records)?.root());
//!
//! // A wallet holding record 7 checks it is in the published tree.
//! let proof = tree.inclusion_proof(7)?;
//! let leaf = Scheme::Rfc9162.leaf_hash(&records[7])?;
//! merkle::verify_inclusion(Scheme::Rfc9162, &root, 7, 1000, &leaf, &proof)?;
//!
//! // An auditor checks the log only appended since size 600.
//! let old_root = MerkleTree::build(Scheme::Rfc9162, &records[..600])?.root();
//! let proof = tree.consistency_proof(600)?;
//! merkle::verify_consistency(Scheme::Rfc9162, 600, 1000, &old_root, &root, &proof)?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Schemes
//!
//! * [`Scheme::Rfc9162`] (Certificate Transparency v2, Trillian): leaf = SHA-256(0x00 ‖ data),
//!   node = SHA-256(0x01 ‖ left ‖ right); the left subtree of `n` leaves holds the largest
//!   power of two smaller than `n`; the empty tree's root is SHA-256(""). Built level by level
//!   this is the same tree as "an odd last node moves up unchanged", which is how it is built
//!   here. Proofs follow RFC 9162 §2.1.3–2.1.4 word for word.
//! * [`Scheme::Bitcoin`]: leaves are 32-byte transaction ids in internal byte order (the
//!   reverse of how explorers print them); node = SHA-256(SHA-256(left ‖ right)); an odd last
//!   node is paired with itself. That rule lets two different transaction lists share a root
//!   (CVE-2012-2459: repeating the last transactions of a level). We do not hide it: the
//!   [`RootReport`] names the first pair of identical siblings ([`DuplicatePair`]), as Bitcoin
//!   Core's `mutated` flag does, and a node must reject such a block. The empty list's root is
//!   32 zero bytes (Bitcoin Core's convention; real blocks always hold a coinbase).
//!
//! ## How it is fast
//!
//! Every node of a level is an independent fixed-size message, so levels are hashed many at
//! a time by the multi-buffer kernels of the `sha256` module (SHA-NI streams, AVX-512/AVX2 lanes). The
//! leaves are cut into aligned subtrees of `SUBTREE_LEAVES` leaves, each built bottom-up
//! by one rayon task while its levels sit in L2 cache, and the subtree roots are combined at
//! the top. Aligned power-of-two subtrees are exactly the tree's own subtrees under both
//! schemes, so the split never changes a root: roots and proofs depend on the leaves alone,
//! never on thread count or platform (tests compare every path against a serial reference).
//!
//! `unsafe` policy: this module and `sha256` are `deny(unsafe_code)` (from the crate root)
//! rather than `forbid`, because the SIMD kernels in `sha256` opt in with `allow`, each
//! reachable only through its detection token (see `sha256::Platform`); the rest of this
//! module's files are `forbid(unsafe_code)`.

mod build;
mod incremental;
mod proof;
#[doc(hidden)]
pub mod sha256;
mod tree;

#[doc(hidden)]
pub use build::SUBTREE_LEAVES;
pub use incremental::IncrementalTree;
pub use proof::{ProofError, verify_consistency, verify_inclusion};
pub use tree::MerkleTree;

use std::fmt;

use crate::{GpuFault, Placement};
use sha256::Platform;

#[cfg(feature = "gpu")]
pub(crate) use build::first_duplicate;

/// A Merkle tree construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// RFC 9162 (Certificate Transparency v2) / RFC 6962 trees.
    Rfc9162,
    /// Bitcoin block transaction trees (double SHA-256, odd node paired with itself).
    Bitcoin,
}

impl Scheme {
    /// The name used on the command line: `rfc9162` or `bitcoin`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Rfc9162 => "rfc9162",
            Scheme::Bitcoin => "bitcoin",
        }
    }

    /// The root of the empty tree: SHA-256("") for RFC 9162, 32 zero bytes for Bitcoin.
    pub fn empty_root(self) -> [u8; 32] {
        match self {
            Scheme::Rfc9162 => sha256::sha256(b""),
            Scheme::Bitcoin => [0; 32],
        }
    }

    /// The hash a leaf contributes to the tree: SHA-256(0x00 ‖ data) for RFC 9162; for
    /// Bitcoin the leaf is already a 32-byte id and is returned as is.
    ///
    /// # Errors
    /// [`MerkleError::InvalidLeafLength`] for a Bitcoin leaf that is not 32 bytes.
    pub fn leaf_hash(self, data: &[u8]) -> Result<[u8; 32], MerkleError> {
        build::TreeHasher::detected(self).leaf(data)
    }

    /// The parent of two nodes: SHA-256(0x01 ‖ left ‖ right), or SHA-256d(left ‖ right).
    pub fn node_hash(self, left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        build::TreeHasher::detected(self).node(left, right)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Scheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rfc9162" | "rfc6962" => Ok(Scheme::Rfc9162),
            "bitcoin" => Ok(Scheme::Bitcoin),
            _ => Err(format!(
                "unknown Merkle scheme {s:?} (expected rfc9162 or bitcoin)"
            )),
        }
    }
}

/// Two identical sibling nodes at `level` (0 = leaves), the left one at `index`: the
/// CVE-2012-2459 duplicate-pair mutation. A Bitcoin block whose tree has one must be rejected,
/// because another (shorter) transaction list has the same root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DuplicatePair {
    /// Tree level: 0 is the leaves.
    pub level: u32,
    /// Index of the left node of the pair within its level (always even).
    pub index: u64,
}

/// A computed root, with what the computation saw along the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RootReport {
    root: [u8; 32],
    leaves: u64,
    duplicate_pair: Option<DuplicatePair>,
    placement: Placement,
    gpu_fault: Option<GpuFault>,
}

impl RootReport {
    /// A root computed by the CPU engine.
    pub(crate) fn new(root: [u8; 32], leaves: u64, duplicate_pair: Option<DuplicatePair>) -> Self {
        RootReport {
            root,
            leaves,
            duplicate_pair,
            placement: Placement::Cpu,
            gpu_fault: None,
        }
    }

    /// The same report, saying where it was computed and what the GPU did.
    pub(crate) fn on(mut self, placement: Placement, gpu_fault: Option<GpuFault>) -> Self {
        self.placement = placement;
        self.gpu_fault = gpu_fault;
        self
    }

    /// Where the root was computed: [`Placement::Cpu`] or [`Placement::Gpu`] (a tree is
    /// never split between them).
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// Set when the job was sent to the GPU and failed there: what went wrong. The root was
    /// then computed by the CPU engine ([`RootReport::placement`] is `Cpu`) and is the same root.
    pub fn gpu_fault(&self) -> Option<GpuFault> {
        self.gpu_fault
    }

    /// The root hash (internal byte order; Bitcoin explorers print it reversed).
    pub fn root(&self) -> [u8; 32] {
        self.root
    }

    /// How many leaves the tree has.
    pub fn leaves(&self) -> u64 {
        self.leaves
    }

    /// Bitcoin only: the first (lowest level, then lowest index) pair of identical siblings,
    /// if any. Always `None` for RFC 9162, whose domain-separated hashing has no such
    /// ambiguity.
    pub fn duplicate_pair(&self) -> Option<DuplicatePair> {
        self.duplicate_pair
    }
}

/// Why a tree could not be built or a proof could not be produced. A proof that fails to
/// verify is a [`ProofError`], not this.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MerkleError {
    /// A Bitcoin leaf was not a 32-byte transaction id.
    InvalidLeafLength {
        /// The leaf's position.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// A proof was asked for a leaf index at or beyond the tree size.
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree's size.
        size: u64,
    },
    /// A consistency proof was asked for an older size larger than the tree.
    SizeOutOfRange {
        /// The older size asked for.
        old: u64,
        /// The tree's size.
        size: u64,
    },
    /// The scheme has no such proof (Bitcoin trees have no consistency proofs).
    Unsupported {
        /// The scheme.
        scheme: Scheme,
        /// What was asked.
        what: &'static str,
    },
}

impl fmt::Display for MerkleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MerkleError::InvalidLeafLength { index, len } => {
                write!(
                    f,
                    "leaf {index} is {len} bytes; a Bitcoin leaf is a 32-byte txid"
                )
            }
            MerkleError::IndexOutOfRange { index, size } => {
                write!(f, "leaf index {index} is not below the tree size {size}")
            }
            MerkleError::SizeOutOfRange { old, size } => {
                write!(f, "older size {old} is larger than the tree size {size}")
            }
            MerkleError::Unsupported { scheme, what } => write!(f, "{scheme} trees have no {what}"),
        }
    }
}

impl std::error::Error for MerkleError {}

/// The root of `leaves` under `scheme`, on every core of rayon's global pool and the fastest
/// SHA-256 path of this CPU. (A [`Verifier`](crate::Verifier) does the same on its own pool.)
///
/// Costs `n` leaf hashes (RFC 9162) and `n − 1` node hashes; memory is per-thread scratch of
/// one subtree, not the whole tree.
///
/// # Errors
/// [`MerkleError::InvalidLeafLength`] for a Bitcoin leaf that is not 32 bytes.
pub fn merkle_root<L: AsRef<[u8]> + Sync>(
    scheme: Scheme,
    leaves: &[L],
) -> Result<RootReport, MerkleError> {
    build::root_parallel(scheme, Platform::detect(), leaves)
}

#[doc(hidden)]
/// [`merkle_root`] on one thread with a chosen SHA-256 path: for benchmarks and for tests that
/// compare paths.
///
/// # Errors
/// As [`merkle_root`].
pub fn merkle_root_with<L: AsRef<[u8]>>(
    scheme: Scheme,
    platform: Platform,
    leaves: &[L],
) -> Result<RootReport, MerkleError> {
    build::root_serial(scheme, platform, leaves)
}

#[doc(hidden)]
/// The obvious, slow root: one hash at a time with the portable SHA-256 (independent of both
/// the SIMD paths and `sha2`), the tree built by the scheme's recursive definition. The reference twin the fast
/// paths are tested against; not for production use.
///
/// # Errors
/// As [`merkle_root`].
pub fn merkle_root_reference<L: AsRef<[u8]>>(
    scheme: Scheme,
    leaves: &[L],
) -> Result<[u8; 32], MerkleError> {
    let hasher = build::TreeHasher {
        scheme,
        platform: Platform::portable(),
    };
    let hashes = leaves
        .iter()
        .enumerate()
        .map(|(index, leaf)| {
            hasher.leaf(leaf.as_ref()).map_err(|e| match e {
                MerkleError::InvalidLeafLength { len, .. } => {
                    MerkleError::InvalidLeafLength { index, len }
                }
                other => other,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match scheme {
        Scheme::Rfc9162 => tree::rfc9162_mth(&hasher, &hashes),
        Scheme::Bitcoin => {
            if hashes.is_empty() {
                return Ok(scheme.empty_root());
            }
            let mut level = hashes;
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|pair| hasher.node(&pair[0], pair.get(1).unwrap_or(&pair[0])))
                    .collect();
            }
            level[0]
        }
    })
}

#[doc(hidden)]
/// One tree level up, the primitive every tree here is built from: `children` → parents,
/// pairs hashed many at a time on `platform`; an odd last child moves up unchanged (RFC 9162)
/// or is hashed with itself (Bitcoin). Returns the parents (`children.len().div_ceil(2)`).
pub fn hash_level(scheme: Scheme, platform: Platform, children: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let mut parents = vec![[0u8; 32]; children.len().div_ceil(2)];
    hash_level_into(scheme, platform, children, &mut parents);
    parents
}

#[doc(hidden)]
/// [`hash_level`] into a caller's buffer (a node reusing its buffers across blocks allocates
/// nothing). Hashes the parents of as many children as fit: `min(parents.len(),
/// children.len().div_ceil(2))` parents are written, and that count is returned.
pub fn hash_level_into(
    scheme: Scheme,
    platform: Platform,
    children: &[[u8; 32]],
    parents: &mut [[u8; 32]],
) -> usize {
    let count = parents.len().min(children.len().div_ceil(2));
    let children = &children[..children.len().min(2 * count)];
    build::TreeHasher { scheme, platform }.level_up(children, &mut parents[..count]);
    count
}

/// The root above the roots of aligned pieces of height `height` computed elsewhere (the GPU
/// backend), with the first duplicate pair among the pieces' and the top's.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) fn combine_piece_roots(
    scheme: Scheme,
    roots: Vec<[u8; 32]>,
    height: u32,
    duplicate: Option<DuplicatePair>,
) -> ([u8; 32], Option<DuplicatePair>) {
    let hasher = build::TreeHasher::detected(scheme);
    let leaves = roots.len() << height;
    let mut pieces: Vec<_> = roots.into_iter().map(|r| (r, None)).collect();
    if let Some(first) = pieces.first_mut() {
        first.1 = duplicate;
    }
    let report = build::combine_subtrees(&hasher, leaves, pieces, height);
    (report.root(), report.duplicate_pair())
}
