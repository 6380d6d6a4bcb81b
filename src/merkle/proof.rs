//! Proof verification: RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), Merkle
//! branches of the schemes that pair an odd node with itself (Bitcoin, ChainMaker), audit
//! paths of FISCO BCOS trees, and FISCO BCOS's own proof layout.
//!
//! Proofs come from whoever serves the log, so they are hostile input. Each check refuses
//! with the first rule broken, in this order: sizes and index in range, path length exactly
//! what the sizes imply, then the recomputed root(s). Checking the length first means a
//! padded or truncated proof is named as such rather than as a root mismatch, and no proof
//! makes the verifier hash more than `2·log2(size)` nodes.
#![forbid(unsafe_code)]

use std::fmt;

use super::{OddNode, Scheme};

/// Why a proof was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// The tree is empty: it includes no leaf.
    EmptyTree,
    /// The leaf index is not below the tree size.
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The older size is larger than the newer one.
    SizesOutOfOrder {
        /// The claimed older size.
        old: u64,
        /// The claimed newer size.
        new: u64,
    },
    /// The proof has a different number of hashes than the sizes require.
    WrongPathLength {
        /// Hashes a valid proof has for these sizes.
        expected: usize,
        /// Hashes this proof has.
        actual: usize,
    },
    /// The recomputed root differs from the claimed root (inclusion), or the roots of two
    /// equal sizes differ (consistency).
    RootMismatch,
    /// Consistency: the proof does not rebuild the claimed older root.
    OldRootMismatch,
    /// Consistency: the proof does not rebuild the claimed newer root.
    NewRootMismatch,
    /// Bitcoin: a node claimed to be paired with itself was given a different sibling.
    BadSelfPair {
        /// The path entry (0 = the leaf's sibling).
        position: usize,
    },
    /// The scheme has no such proof (only RFC 9162 trees have consistency proofs).
    Unsupported {
        /// The scheme.
        scheme: Scheme,
    },
    /// FISCO BCOS layout: the proof is not a sequence of count elements each followed by
    /// that many nodes. `position` is the offending element (0 = the first).
    Malformed {
        /// The element's position in the proof.
        position: usize,
        /// What is wrong with it.
        what: &'static str,
    },
    /// FISCO BCOS layout: group `group` (0 = the leaves' group) does not contain the node
    /// the proof has climbed to (the leaf, for group 0).
    NotInGroup {
        /// The group's position (its level).
        group: usize,
    },
    /// FISCO BCOS layout: group `group` holds a different number of nodes than the tree of
    /// the given size has there.
    WrongGroupSize {
        /// The group's position (its level).
        group: usize,
        /// Nodes the tree has in that group.
        expected: usize,
        /// Nodes the proof's group has.
        actual: usize,
    },
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::EmptyTree => f.write_str("the tree is empty"),
            ProofError::IndexOutOfRange { index, size } => {
                write!(f, "leaf index {index} is not below tree size {size}")
            }
            ProofError::SizesOutOfOrder { old, new } => {
                write!(f, "older size {old} is larger than newer size {new}")
            }
            ProofError::WrongPathLength { expected, actual } => {
                write!(f, "proof has {actual} hashes; these sizes need {expected}")
            }
            ProofError::RootMismatch => f.write_str("recomputed root does not match"),
            ProofError::OldRootMismatch => f.write_str("proof does not rebuild the older root"),
            ProofError::NewRootMismatch => f.write_str("proof does not rebuild the newer root"),
            ProofError::BadSelfPair { position } => {
                write!(
                    f,
                    "entry {position} must repeat the node it pairs with (odd last node)"
                )
            }
            ProofError::Unsupported { scheme } => {
                write!(f, "{scheme} trees have no consistency proofs")
            }
            ProofError::Malformed { position, what } => {
                write!(f, "proof element {position}: {what}")
            }
            ProofError::NotInGroup { group } => {
                write!(f, "group {group} does not contain the node being proven")
            }
            ProofError::WrongGroupSize {
                group,
                expected,
                actual,
            } => write!(
                f,
                "group {group} has {actual} nodes; this tree has {expected} there"
            ),
        }
    }
}

impl std::error::Error for ProofError {}

/// Checks that the leaf whose hash is `leaf_hash` sits at `index` in the tree of `size` leaves
/// whose root is `root`, given its audit path (siblings from the leaf upward).
///
/// `leaf_hash` is [`Scheme::leaf_hash`] of the record (for Bitcoin, the txid in internal byte
/// order). Costs at most `log2(size) + 1` node hashes.
///
/// **The size is not authenticated here.** A root does not commit to its tree's size (in
/// RFC 9162 the signed tree head signs the pair; in Bitcoin the header carries no count), and
/// the size only fixes the path's shape: a proof that verifies for `size` also verifies for
/// any other size whose path for `index` has the same shape (leaf 15 of 38 and of 39, say).
/// Take `(size, root)` from the same authenticated source. What a proof can never do is
/// place a leaf that is not in the tree, or at another position.
///
/// # Errors
/// The first rule the proof breaks, as a [`ProofError`].
pub fn verify_inclusion(
    scheme: Scheme,
    root: &[u8; 32],
    index: u64,
    size: u64,
    leaf_hash: &[u8; 32],
    path: &[[u8; 32]],
) -> Result<(), ProofError> {
    if size == 0 {
        return Err(ProofError::EmptyTree);
    }
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let computed = match scheme.odd_node() {
        OddNode::Promote => rfc9162_inclusion_root(index, size, leaf_hash, path)?,
        OddNode::PairWithItself => branch_root(scheme, index, size, leaf_hash, path)?,
        OddNode::HashAlone => hash_alone_path_root(scheme, index, size, leaf_hash, path)?,
    };
    if &computed == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// RFC 9162 §2.1.3.2 steps 2–5, after the length check.
fn rfc9162_inclusion_root(
    index: u64,
    size: u64,
    leaf_hash: &[u8; 32],
    path: &[[u8; 32]],
) -> Result<[u8; 32], ProofError> {
    let expected = rfc9162_path_steps(index, size - 1);
    if path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            actual: path.len(),
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in path {
        if f & 1 == 1 || f == s {
            r = Scheme::Rfc9162.node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = Scheme::Rfc9162.node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    // The length check guarantees s reached 0 exactly at the end (step 5's first test).
    debug_assert_eq!(s, 0);
    Ok(r)
}

/// How many path entries RFC 9162's loop consumes from (fn, sn) until sn is 0: the only
/// length a valid proof can have.
fn rfc9162_path_steps(mut f: u64, mut s: u64) -> usize {
    let mut steps = 0;
    while s != 0 {
        if f & 1 == 0 && f == s {
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        }
        f >>= 1;
        s >>= 1;
        steps += 1;
    }
    steps
}

/// A Merkle branch of a scheme that pairs an odd node with itself (Bitcoin, ChainMaker): one
/// entry per level below the root; at a level where the node is the odd last one, the entry
/// must equal the node itself.
fn branch_root(
    scheme: Scheme,
    index: u64,
    size: u64,
    leaf_hash: &[u8; 32],
    path: &[[u8; 32]],
) -> Result<[u8; 32], ProofError> {
    let expected = (64 - (size - 1).leading_zeros()) as usize; // ceil(log2 size)
    if path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            actual: path.len(),
        });
    }
    let (mut i, mut level_size) = (index, size);
    let mut r = *leaf_hash;
    for (position, p) in path.iter().enumerate() {
        if i & 1 == 1 {
            r = scheme.node_hash(p, &r);
        } else {
            if i + 1 == level_size && p != &r {
                return Err(ProofError::BadSelfPair { position });
            }
            r = scheme.node_hash(&r, p);
        }
        i >>= 1;
        level_size = level_size.div_ceil(2);
    }
    Ok(r)
}

/// An audit path of a scheme that hashes an odd node alone (FISCO BCOS): one entry per level
/// where the node has a sibling; where it is the odd last node it is hashed alone and takes
/// no entry.
fn hash_alone_path_root(
    scheme: Scheme,
    index: u64,
    size: u64,
    leaf_hash: &[u8; 32],
    path: &[[u8; 32]],
) -> Result<[u8; 32], ProofError> {
    let (mut i, mut level_size) = (index, size);
    let mut expected = 0;
    while level_size > 1 {
        expected += usize::from(i ^ 1 < level_size);
        i >>= 1;
        level_size = level_size.div_ceil(2);
    }
    if path.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            actual: path.len(),
        });
    }
    let (mut i, mut level_size) = (index, size);
    let mut entries = path.iter();
    let mut r = *leaf_hash;
    while level_size > 1 {
        let sibling = if i ^ 1 < level_size {
            entries.next()
        } else {
            None
        };
        r = match sibling {
            Some(p) if i & 1 == 1 => scheme.node_hash(p, &r),
            Some(p) => scheme.node_hash(&r, p),
            None => scheme.lone_node_hash(&r),
        };
        i >>= 1;
        level_size = level_size.div_ceil(2);
    }
    Ok(r)
}

/// The count element that opens a group of a FISCO BCOS proof: the count as a 4-byte
/// big-endian number in a 32-byte element whose other bytes are zero (FISCO's
/// `setNumberToHash` into a zeroed `h256`).
pub(crate) fn fisco_count_element(count: u32) -> [u8; 32] {
    let mut element = [0u8; 32];
    element[..4].copy_from_slice(&count.to_be_bytes());
    element
}

/// Checks a FISCO BCOS inclusion proof ([`MerkleTree::fisco_proof`]'s layout, which is FISCO's
/// `generateMerkleProof`) of the 32-byte `leaf` in the FISCO BCOS tree of `size` leaves whose
/// root is `root`, and returns the leaf's index.
///
/// FISCO's own `verifyMerkleProof` takes no size and no index: it finds the climbing node in
/// each group by search and hashes the group. That alone would also accept an interior node
/// as a "leaf" (FISCO's hashing has no leaf/node domain separation) and does not bound its
/// reads. Here, in this order: the proof must parse (each count element a big-endian count of
/// 1 or 2 with zero padding, followed by that many nodes, nothing left over); the node must be
/// in each group (found by search, first match, as FISCO does, which also gives the index);
/// there must be exactly one group per level below the root and each group must have the size
/// the tree of `size` leaves has there; then the recomputed root must equal `root`. Every
/// proof FISCO generates for a tree of that size passes; a one-leaf tree's proof is the leaf
/// itself. Costs at most `log2(size) + 1` SM3 hashes; refuses without hashing on layout
/// errors.
///
/// **Take `size` (the block's transaction count) from the same authenticated source as the
/// root.** A root does not commit to its size, and each level of a FISCO tree is itself the
/// FISCO tree of its nodes: with the size of level 1 (`⌈size/2⌉`), a level-1 node proves as
/// a "leaf". With the true size, only the tree's own leaf at the returned index passes (the
/// `fisco_proofs` fuzz target checks both).
///
/// # Errors
/// The first rule the proof breaks, as a [`ProofError`].
///
/// [`MerkleTree::fisco_proof`]: super::MerkleTree::fisco_proof
pub fn verify_fisco_inclusion(
    root: &[u8; 32],
    size: u64,
    leaf: &[u8; 32],
    proof: &[[u8; 32]],
) -> Result<u64, ProofError> {
    if size == 0 {
        return Err(ProofError::EmptyTree);
    }
    if proof.is_empty() {
        return Err(ProofError::Malformed {
            position: 0,
            what: "the proof is empty",
        });
    }
    if size == 1 {
        if proof.len() != 1 {
            return Err(ProofError::WrongPathLength {
                expected: 1,
                actual: proof.len(),
            });
        }
        if proof[0] != *leaf {
            return Err(ProofError::NotInGroup { group: 0 });
        }
        return if leaf == root {
            Ok(0)
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let groups = fisco_groups(proof)?;
    let height = (64 - (size - 1).leading_zeros()) as usize; // ceil(log2 size)
    if groups.len() != height {
        return Err(ProofError::WrongPathLength {
            expected: height,
            actual: groups.len(),
        });
    }
    // Where the node sits in each group (search, as FISCO), giving the index bit by bit, then
    // the group sizes that index implies in a tree of `size` leaves.
    let mut index = 0u64;
    let mut node = *leaf;
    for (g, group) in groups.iter().enumerate() {
        let position = group
            .iter()
            .position(|n| *n == node)
            .ok_or(ProofError::NotInGroup { group: g })?;
        index |= (position as u64) << g;
        node = fisco_group_hash(group);
    }
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut level_size = size;
    for (g, group) in groups.iter().enumerate() {
        let start = (index >> g) & !1;
        let expected = (level_size - start).min(2) as usize;
        if group.len() != expected {
            return Err(ProofError::WrongGroupSize {
                group: g,
                expected,
                actual: group.len(),
            });
        }
        level_size = level_size.div_ceil(2);
    }
    if node == *root {
        Ok(index)
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The groups of a FISCO BCOS proof of a tree of two or more leaves.
fn fisco_groups(proof: &[[u8; 32]]) -> Result<Vec<&[[u8; 32]]>, ProofError> {
    let mut groups = Vec::new();
    let mut position = 0;
    while position < proof.len() {
        let element = &proof[position];
        if element[4..].iter().any(|&b| b != 0) {
            return Err(ProofError::Malformed {
                position,
                what: "a count element must be a 4-byte count followed by 28 zero bytes",
            });
        }
        let count = u32::from_be_bytes([element[0], element[1], element[2], element[3]]) as usize;
        if !(1..=2).contains(&count) {
            return Err(ProofError::Malformed {
                position,
                what: "a group of a width-2 tree holds 1 or 2 nodes",
            });
        }
        let group = proof
            .get(position + 1..position + 1 + count)
            .ok_or(ProofError::Malformed {
                position,
                what: "the group runs past the end of the proof",
            })?;
        groups.push(group);
        position += 1 + count;
    }
    Ok(groups)
}

/// The parent of a FISCO group: SM3 of its nodes concatenated (one node: hashed alone).
fn fisco_group_hash(group: &[[u8; 32]]) -> [u8; 32] {
    match group {
        [left, right] => Scheme::FiscoBcos.node_hash(left, right),
        [lone] => Scheme::FiscoBcos.lone_node_hash(lone),
        _ => unreachable!("fisco_groups yields groups of 1 or 2 nodes"),
    }
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2; RFC 9162 trees only).
///
/// Sizes that need no proof: equal sizes are consistent when the roots are equal and the proof
/// is empty; the empty tree is a prefix of every tree (empty proof). These follow the
/// transparency-dev/merkle library that Trillian and CT logs use, whose test cases we pass.
///
/// # Errors
/// The first rule the proof breaks, as a [`ProofError`].
pub fn verify_consistency(
    scheme: Scheme,
    old_size: u64,
    new_size: u64,
    old_root: &[u8; 32],
    new_root: &[u8; 32],
    proof: &[[u8; 32]],
) -> Result<(), ProofError> {
    if scheme != Scheme::Rfc9162 {
        return Err(ProofError::Unsupported { scheme });
    }
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongPathLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        return if old_size == 0 || old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // Steps 2–4: a power-of-two old tree is a node of the new one and is not sent.
    let old_is_node = old_size.is_power_of_two();
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let expected = usize::from(!old_is_node) + rfc9162_path_steps(f, s);
    if proof.len() != expected {
        return Err(ProofError::WrongPathLength {
            expected,
            actual: proof.len(),
        });
    }
    let (seed, rest) = if old_is_node {
        (old_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    // Step 5.
    let (mut fr, mut sr) = (*seed, *seed);
    // Step 6.
    for c in rest {
        if f & 1 == 1 || f == s {
            fr = Scheme::Rfc9162.node_hash(c, &fr);
            sr = Scheme::Rfc9162.node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = Scheme::Rfc9162.node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 7 (s == 0 is guaranteed by the length check).
    if &fr != old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if &sr != new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}
