//! Merkle trees: roots, proofs and append-only logs for RFC 9162, Bitcoin, FISCO BCOS and
//! ChainMaker trees.
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
//! * [`Scheme::FiscoBcos`] (FISCO BCOS v3 in guomi mode; `bcos-crypto/bcos-crypto/merkle/Merkle.h`,
//!   class `Merkle` with width 2, as used by `BlockImpl::calculateTransactionRoot` in
//!   `bcos-tars-protocol` and the scheduler's `calculateTransactionRoot`; FISCO-BCOS v3.0.0
//!   onward, read at commit 7608ab8): leaves are the transactions' 32-byte SM3 hashes as they
//!   are; a parent is SM3 of its up to two children concatenated, so an odd last node is
//!   **hashed alone** (SM3 of its 32 bytes), not moved up and not duplicated; one leaf is its
//!   own root; a block of no transactions has 32 zero bytes as its root (FISCO's callers
//!   return a zero `h256` before `generateMerkle`, which throws on empty input). Inclusion
//!   proofs also come in FISCO's own layout ([`MerkleTree::fisco_proof`],
//!   [`verify_fisco_inclusion`]). (FISCO's pre-3.0 release candidates used a different,
//!   width-16 tree, which is not this scheme.)
//! * [`Scheme::ChainMakerSm3`] and [`Scheme::ChainMakerSha256`] (ChainMaker,
//!   `common/crypto/hash/merkle.go`, `GetMerkleRoot` / `BuildMerkleTree`, read in the
//!   Apache-2.0 copies vendored by ChainMaker-based projects): leaves are the 32-byte
//!   transaction hashes as they are; a parent is H(left ‖ right) with the chain's hash (SM3 in
//!   guomi mode, SHA-256 otherwise), and an odd last node is **paired with itself** (the
//!   Go code's flat power-of-two array hashes `(x, nil)` as H(x ‖ x), which is the same tree).
//!   So the CVE-2012-2459 duplicate-pair ambiguity applies and is reported as for Bitcoin
//!   ([`RootReport::duplicate_pair`]); ChainMaker's own code does not check it. One leaf is its
//!   own root. No leaves: ChainMaker returns no root (nil), and here [`merkle_root`] and
//!   [`MerkleTree::build`] return [`MerkleError::EmptyTree`] ([`Scheme::empty_root`] is
//!   `None`). Inclusion proofs are Merkle branches as for Bitcoin (ChainMaker's
//!   `GetMerklePath`: a lone node's sibling is itself).
//!
//! Neither chain publishes fixed test vectors for its trees (their unit tests use random
//! leaves); the tests here check every scheme against references written independently
//! from the chains' code with the RustCrypto `sm3` and `sha2` crates (FISCO's
//! `generateMerkle`/`generateMerkleProof`/`verifyMerkleProof` and ChainMaker's flat array,
//! transcribed), and against the one-transaction and empty blocks in FISCO BCOS's
//! documentation.
//!
//! ## How it is fast
//!
//! Every node of a level is an independent fixed-size message, so levels are hashed many at
//! a time by the multi-buffer kernels of the `sha256` module (SHA-NI streams, AVX-512/AVX2
//! lanes) and the `sm3` module (AVX-512/AVX2 lanes, on the same `simd` lane vectors). The
//! leaves are cut into aligned subtrees of `SUBTREE_LEAVES` leaves, each built bottom-up
//! by one rayon task while its levels sit in L2 cache, and the subtree roots are combined at
//! the top. Aligned power-of-two subtrees are exactly the tree's own subtrees under every
//! scheme (a subtree's lone last node is the odd last node of each of the whole tree's levels
//! up to the subtree's height, and gets the scheme's rule there), so the split never changes a
//! root: roots and proofs depend on the leaves alone,
//! never on thread count or platform (tests compare every path against a serial reference).
//!
//! `unsafe` policy: this module, `sha256` and `sm3` are `deny(unsafe_code)` (from the crate
//! root) rather than `forbid`, because the SIMD kernels in `simd`, `sha256` and `sm3` opt in
//! with `allow`, each reachable only through its detection token (see `sha256::Platform`);
//! the rest of this module's files are `forbid(unsafe_code)`.

mod build;
mod incremental;
mod proof;
#[doc(hidden)]
pub mod sha256;
mod simd;
#[doc(hidden)]
pub mod sm3;
mod tree;

#[doc(hidden)]
pub use build::SUBTREE_LEAVES;
pub use incremental::IncrementalTree;
pub use proof::{ProofError, verify_consistency, verify_fisco_inclusion, verify_inclusion};
pub use tree::MerkleTree;

use std::fmt;

use crate::{GpuFault, Placement};

#[cfg(feature = "gpu")]
pub(crate) use build::first_duplicate;

/// A Merkle tree construction.
///
/// Every scheme hashes a level's nodes in pairs, left to right; they differ in the hash, in
/// what a leaf is, and in what happens to an odd last node (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// RFC 9162 (Certificate Transparency v2) / RFC 6962 trees.
    Rfc9162,
    /// Bitcoin block transaction trees (double SHA-256, odd node paired with itself).
    Bitcoin,
    /// FISCO BCOS v3 transaction and receipt trees in guomi (SM) mode: SM3 of the
    /// concatenated children, an odd last node hashed alone.
    FiscoBcos,
    /// ChainMaker block transaction trees with the SM3 hash (guomi mode): SM3(left ‖ right),
    /// an odd last node paired with itself.
    ChainMakerSm3,
    /// ChainMaker block transaction trees with SHA-256: SHA-256(left ‖ right), an odd last
    /// node paired with itself.
    ChainMakerSha256,
}

/// What one level does with its odd last node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OddNode {
    /// Moved up unchanged (RFC 9162).
    Promote,
    /// Hashed alone: the parent is H(node) (FISCO BCOS).
    HashAlone,
    /// Paired with itself: the parent is H(node ‖ node) (Bitcoin, ChainMaker).
    PairWithItself,
}

/// The hash function of a scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TreeHash {
    Sha256,
    Sm3,
}

impl Scheme {
    /// Every scheme, in declaration order.
    pub const ALL: [Scheme; 5] = [
        Scheme::Rfc9162,
        Scheme::Bitcoin,
        Scheme::FiscoBcos,
        Scheme::ChainMakerSm3,
        Scheme::ChainMakerSha256,
    ];

    /// The name used on the command line: `rfc9162`, `bitcoin`, `fisco-bcos`,
    /// `chainmaker-sm3` or `chainmaker-sha256`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Rfc9162 => "rfc9162",
            Scheme::Bitcoin => "bitcoin",
            Scheme::FiscoBcos => "fisco-bcos",
            Scheme::ChainMakerSm3 => "chainmaker-sm3",
            Scheme::ChainMakerSha256 => "chainmaker-sha256",
        }
    }

    /// The root of the tree of no leaves: SHA-256("") for RFC 9162, 32 zero bytes for
    /// Bitcoin and FISCO BCOS (both chains' convention for a block without transactions),
    /// and `None` for ChainMaker, whose `GetMerkleRoot` returns no root (nil) for no hashes:
    /// [`merkle_root`] and [`MerkleTree::build`] report [`MerkleError::EmptyTree`] there.
    pub fn empty_root(self) -> Option<[u8; 32]> {
        match self {
            Scheme::Rfc9162 => Some(sha256::sha256(b"")),
            Scheme::Bitcoin | Scheme::FiscoBcos => Some([0; 32]),
            Scheme::ChainMakerSm3 | Scheme::ChainMakerSha256 => None,
        }
    }

    /// Whether a leaf is hashed into the tree (RFC 9162) rather than being a 32-byte hash
    /// taken as it is (every other scheme: transaction ids or hashes).
    pub fn hashes_leaves(self) -> bool {
        self == Scheme::Rfc9162
    }

    /// Whether an odd last node is paired with itself, so that two different leaf lists
    /// can share a root (CVE-2012-2459) and a [`RootReport`] names the first
    /// [`DuplicatePair`]: Bitcoin and ChainMaker.
    pub fn pairs_odd_node_with_itself(self) -> bool {
        self.odd_node() == OddNode::PairWithItself
    }

    pub(crate) fn odd_node(self) -> OddNode {
        match self {
            Scheme::Rfc9162 => OddNode::Promote,
            Scheme::FiscoBcos => OddNode::HashAlone,
            Scheme::Bitcoin | Scheme::ChainMakerSm3 | Scheme::ChainMakerSha256 => {
                OddNode::PairWithItself
            }
        }
    }

    pub(crate) fn tree_hash(self) -> TreeHash {
        match self {
            Scheme::Rfc9162 | Scheme::Bitcoin | Scheme::ChainMakerSha256 => TreeHash::Sha256,
            Scheme::FiscoBcos | Scheme::ChainMakerSm3 => TreeHash::Sm3,
        }
    }

    /// The hash a leaf contributes to the tree: SHA-256(0x00 ‖ data) for RFC 9162; for every
    /// other scheme the leaf is already a 32-byte hash and is returned as is.
    ///
    /// # Errors
    /// [`MerkleError::InvalidLeafLength`] for a leaf of another scheme that is not 32 bytes.
    pub fn leaf_hash(self, data: &[u8]) -> Result<[u8; 32], MerkleError> {
        build::TreeHasher::detected(self).leaf(data)
    }

    /// The parent of two nodes: SHA-256(0x01 ‖ left ‖ right) (RFC 9162),
    /// SHA-256d(left ‖ right) (Bitcoin), SM3(left ‖ right) (FISCO BCOS, ChainMaker SM3) or
    /// SHA-256(left ‖ right) (ChainMaker SHA-256).
    pub fn node_hash(self, left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        build::TreeHasher::detected(self).node(left, right)
    }

    /// The parent of an odd last node: itself (RFC 9162), SM3(node) (FISCO BCOS) or the node
    /// hashed with itself (Bitcoin, ChainMaker).
    pub fn lone_node_hash(self, node: &[u8; 32]) -> [u8; 32] {
        build::TreeHasher::detected(self).lone(node)
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
            "fisco-bcos" => Ok(Scheme::FiscoBcos),
            "chainmaker-sm3" => Ok(Scheme::ChainMakerSm3),
            "chainmaker-sha256" => Ok(Scheme::ChainMakerSha256),
            _ => Err(format!(
                "unknown Merkle scheme {s:?} (expected rfc9162, bitcoin, fisco-bcos, \
                 chainmaker-sm3 or chainmaker-sha256)"
            )),
        }
    }
}

/// The hash paths a tree is built with: one SHA-256 path and one SM3 path (a scheme uses
/// one of them). For benchmarks and tests that force a path; [`HashPaths::detect`] is what
/// the library uses. A forced SHA-256 or SM3 path converts into `HashPaths` with the other
/// hash on its detected path.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HashPaths {
    pub(crate) sha256: sha256::Platform,
    pub(crate) sm3: sm3::Platform,
}

impl HashPaths {
    /// The fastest path of each hash on this CPU.
    pub fn detect() -> Self {
        HashPaths {
            sha256: sha256::Platform::detect(),
            sm3: sm3::Platform::detect(),
        }
    }

    /// Both portable reference paths.
    pub fn portable() -> Self {
        HashPaths {
            sha256: sha256::Platform::portable(),
            sm3: sm3::Platform::portable(),
        }
    }

    /// The name of the path `scheme` runs on.
    pub fn name_for(self, scheme: Scheme) -> &'static str {
        match scheme.tree_hash() {
            TreeHash::Sha256 => self.sha256.name(),
            TreeHash::Sm3 => self.sm3.name(),
        }
    }
}

impl From<sha256::Platform> for HashPaths {
    fn from(sha256: sha256::Platform) -> Self {
        HashPaths {
            sha256,
            sm3: sm3::Platform::detect(),
        }
    }
}

impl From<sm3::Platform> for HashPaths {
    fn from(sm3: sm3::Platform) -> Self {
        HashPaths {
            sha256: sha256::Platform::detect(),
            sm3,
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

    /// Bitcoin and ChainMaker: the first (lowest level, then lowest index) pair of identical
    /// siblings, if any. Always `None` for RFC 9162 and FISCO BCOS, which do not pair an odd
    /// node with itself and so have no such ambiguity.
    pub fn duplicate_pair(&self) -> Option<DuplicatePair> {
        self.duplicate_pair
    }
}

/// Why a tree could not be built or a proof could not be produced. A proof that fails to
/// verify is a [`ProofError`], not this.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MerkleError {
    /// A leaf of a scheme whose leaves are 32-byte hashes (every scheme but RFC 9162) was not
    /// 32 bytes.
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
    /// The scheme has no such proof (only RFC 9162 trees have consistency proofs; only
    /// FISCO BCOS trees have FISCO's proof layout).
    Unsupported {
        /// The scheme.
        scheme: Scheme,
        /// What was asked.
        what: &'static str,
    },
    /// The scheme defines no root for no leaves (ChainMaker: `GetMerkleRoot` returns nil).
    EmptyTree {
        /// The scheme.
        scheme: Scheme,
    },
}

impl fmt::Display for MerkleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MerkleError::InvalidLeafLength { index, len } => {
                write!(
                    f,
                    "leaf {index} is {len} bytes; this scheme's leaves are 32-byte hashes"
                )
            }
            MerkleError::IndexOutOfRange { index, size } => {
                write!(f, "leaf index {index} is not below the tree size {size}")
            }
            MerkleError::SizeOutOfRange { old, size } => {
                write!(f, "older size {old} is larger than the tree size {size}")
            }
            MerkleError::Unsupported { scheme, what } => write!(f, "{scheme} trees have no {what}"),
            MerkleError::EmptyTree { scheme } => {
                write!(f, "{scheme} trees of no leaves have no root")
            }
        }
    }
}

impl std::error::Error for MerkleError {}

/// The root of `leaves` under `scheme`, on every core of rayon's global pool and the fastest
/// SHA-256 or SM3 path of this CPU. (A [`Verifier`](crate::Verifier) does the same on its own
/// pool.)
///
/// Costs `n` leaf hashes (RFC 9162) and about `n` node hashes; memory is per-thread scratch
/// of one subtree, not the whole tree.
///
/// # Errors
/// [`MerkleError::InvalidLeafLength`] for a leaf that is not 32 bytes (every scheme but RFC
/// 9162); [`MerkleError::EmptyTree`] for no leaves under ChainMaker.
pub fn merkle_root<L: AsRef<[u8]> + Sync>(
    scheme: Scheme,
    leaves: &[L],
) -> Result<RootReport, MerkleError> {
    build::root_parallel(scheme, HashPaths::detect(), leaves)
}

#[doc(hidden)]
/// [`merkle_root`] on one thread with chosen hash paths: for benchmarks and for tests that
/// compare paths.
///
/// # Errors
/// As [`merkle_root`].
pub fn merkle_root_with<L: AsRef<[u8]>>(
    scheme: Scheme,
    paths: impl Into<HashPaths>,
    leaves: &[L],
) -> Result<RootReport, MerkleError> {
    build::root_serial(scheme, paths.into(), leaves)
}

#[doc(hidden)]
/// The obvious, slow root: one hash at a time on the portable SHA-256 and SM3 (independent of
/// the SIMD paths, `sha2` and `sm3`), the tree built by the scheme's definition (RFC 9162's
/// recursion; level by level for the others). The reference twin the fast paths are tested
/// against; not for production use.
///
/// # Errors
/// As [`merkle_root`].
pub fn merkle_root_reference<L: AsRef<[u8]>>(
    scheme: Scheme,
    leaves: &[L],
) -> Result<[u8; 32], MerkleError> {
    let hasher = build::TreeHasher {
        scheme,
        paths: HashPaths::portable(),
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
    if hashes.is_empty() {
        return scheme.empty_root().ok_or(MerkleError::EmptyTree { scheme });
    }
    if scheme == Scheme::Rfc9162 {
        return Ok(tree::rfc9162_mth(&hasher, &hashes));
    }
    let mut level = hashes;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => hasher.node(left, right),
                [lone] => hasher.lone(lone),
                _ => unreachable!("chunks(2) yields one or two nodes"),
            })
            .collect();
    }
    Ok(level[0])
}

#[doc(hidden)]
/// One tree level up, the primitive every tree here is built from: `children` → parents,
/// pairs hashed many at a time on `paths`; an odd last child follows the scheme's rule
/// (moved up, hashed alone, or hashed with itself). Returns the parents
/// (`children.len().div_ceil(2)`).
pub fn hash_level(
    scheme: Scheme,
    paths: impl Into<HashPaths>,
    children: &[[u8; 32]],
) -> Vec<[u8; 32]> {
    let mut parents = vec![[0u8; 32]; children.len().div_ceil(2)];
    hash_level_into(scheme, paths, children, &mut parents);
    parents
}

#[doc(hidden)]
/// [`hash_level`] into a caller's buffer (a node reusing its buffers across blocks allocates
/// nothing). Hashes the parents of as many children as fit: `min(parents.len(),
/// children.len().div_ceil(2))` parents are written, and that count is returned.
pub fn hash_level_into(
    scheme: Scheme,
    paths: impl Into<HashPaths>,
    children: &[[u8; 32]],
    parents: &mut [[u8; 32]],
) -> usize {
    let count = parents.len().min(children.len().div_ceil(2));
    let children = &children[..children.len().min(2 * count)];
    build::TreeHasher {
        scheme,
        paths: paths.into(),
    }
    .level_up(children, &mut parents[..count]);
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
