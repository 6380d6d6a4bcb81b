//! The FISCO BCOS and ChainMaker trees against references transcribed independently from the
//! chains' own code (with the RustCrypto `sm3` and `sha2` crates, not this crate's hashes),
//! against the blocks in FISCO BCOS's documentation, and against hostile proofs.
//!
//! Sources transcribed (read, not copied; both Apache-2.0):
//! - FISCO BCOS v3 `bcos-crypto/bcos-crypto/merkle/Merkle.h` (FISCO-BCOS/FISCO-BCOS at
//!   7608ab8): `generateMerkle`, `generateMerkleProof`, `verifyMerkleProof`, width 2.
//! - ChainMaker `common/crypto/hash/merkle.go`: `BuildMerkleTree` (a flat power-of-two
//!   array, `nil` padding, `(x, nil)` hashed as H(x ‖ x)), `GetMerklePath` and `Prove`
//!   (index-based).

use blockverify::merkle::{
    self, IncrementalTree, MerkleError, MerkleTree, ProofError, Scheme, merkle_root,
    merkle_root_reference, verify_fisco_inclusion, verify_inclusion,
};
use rand::{RngExt, SeedableRng};
use sha2::Digest as _;

type Hash = [u8; 32];
/// A hash of concatenated parts, with a peer crate.
type HashFn = fn(&[Hash]) -> Hash;

fn sm3_concat(parts: &[Hash]) -> Hash {
    let mut h = sm3::Sm3::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn sha256_concat(parts: &[Hash]) -> Hash {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hashes(n: usize, seed: u64) -> Vec<Hash> {
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random()).collect()
}

/// Sizes: every size to 300, around the subtree size, and a few large random ones.
fn sizes() -> Vec<usize> {
    let subtree = merkle::SUBTREE_LEAVES;
    let mut sizes: Vec<usize> = (0..=300).collect();
    for base in [512, 1024, subtree, 2 * subtree, 3 * subtree] {
        sizes.extend(base - 2..=base + 2);
    }
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(7);
    sizes.extend((0..6).map(|_| rng.random_range(0..5 * subtree)));
    sizes
}

// ---------------------------------------------------------------- FISCO BCOS, transcribed

/// FISCO's count element: `setNumberToHash` into a zeroed `h256`.
fn fisco_number(count: usize) -> Hash {
    let mut h = [0u8; 32];
    h[..4].copy_from_slice(&(count as u32).to_be_bytes());
    h
}

fn fisco_read_number(h: &Hash) -> usize {
    u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize
}

/// `Merkle<width>::generateMerkle`: for each level above the leaves, `[count, nodes…]`, the
/// last being `[1, root]`; one leaf: the leaf itself. (Empty input throws; `None` here.)
fn fisco_generate_merkle(leaves: &[Hash], width: usize) -> Option<Vec<Hash>> {
    if leaves.is_empty() {
        return None;
    }
    if leaves.len() == 1 {
        return Some(leaves.to_vec());
    }
    let mut out = Vec::new();
    let mut input = leaves.to_vec();
    loop {
        let count = input.len().div_ceil(width);
        let level: Vec<Hash> = (0..count)
            .map(|i| sm3_concat(&input[i * width..((i + 1) * width).min(input.len())]))
            .collect();
        out.push(fisco_number(count));
        out.extend_from_slice(&level);
        if count == 1 {
            return Some(out);
        }
        input = level;
    }
}

/// `BlockImpl::calculateTransactionRoot`: zero hash for no transactions, else the last
/// element of `generateMerkle`.
fn fisco_transaction_root(leaves: &[Hash]) -> Hash {
    fisco_generate_merkle(leaves, 2).map_or([0; 32], |m| *m.last().unwrap())
}

/// `generateMerkleProof(originHashes, merkle, index)`.
fn fisco_generate_proof(leaves: &[Hash], merkle: &[Hash], index: usize, width: usize) -> Vec<Hash> {
    assert!(index < leaves.len());
    if leaves.len() == 1 {
        return vec![merkle[0]];
    }
    let mut index = index - index % width;
    let count = (leaves.len() - index).min(width);
    let mut out = vec![fisco_number(count)];
    out.extend_from_slice(&leaves[index..index + count]);
    let mut it = 0;
    loop {
        let len = fisco_read_number(&merkle[it]);
        it += 1;
        if len == 1 {
            return out;
        }
        index /= width;
        index -= index % width;
        let count = (len - index).min(width);
        out.push(fisco_number(count));
        out.extend_from_slice(&merkle[it + index..it + index + count]);
        it += len;
    }
}

/// `verifyMerkleProof(proof, hash, root)`, FISCO's lax check (no size, search per group),
/// with the bounds checks the C++ leaves out turned into `false`.
fn fisco_verify_proof(proof: &[Hash], hash: Hash, root: &Hash) -> bool {
    assert!(!proof.is_empty(), "FISCO throws on an empty proof");
    let mut hash = hash;
    if proof.len() > 1 {
        let mut it = 0;
        while it < proof.len() {
            let count = fisco_read_number(&proof[it]);
            it += 1;
            let Some(group) = proof.get(it..it + count) else {
                return false;
            };
            if !group.contains(&hash) {
                return false;
            }
            hash = sm3_concat(group);
            it += count;
        }
    }
    hash == *root
}

#[test]
fn fisco_roots_equal_the_transcribed_generate_merkle_at_every_size() {
    let all = hashes(5 * merkle::SUBTREE_LEAVES, 1);
    for n in sizes() {
        let leaves = &all[..n];
        let expected = fisco_transaction_root(leaves);
        assert_eq!(
            merkle_root(Scheme::FiscoBcos, leaves).unwrap().root(),
            expected,
            "n={n}"
        );
        assert_eq!(
            merkle_root_reference(Scheme::FiscoBcos, leaves).unwrap(),
            expected
        );
        assert_eq!(
            MerkleTree::build(Scheme::FiscoBcos, leaves).unwrap().root(),
            expected
        );
        let report = merkle_root(Scheme::FiscoBcos, leaves).unwrap();
        assert_eq!(
            report.duplicate_pair(),
            None,
            "FISCO never pairs a node with itself"
        );
    }
}

#[test]
fn fisco_proofs_are_fiscos_own_and_verify_both_ways() {
    let all = hashes(300, 2);
    for n in 1..=140usize {
        let leaves = &all[..n];
        let merkle = fisco_generate_merkle(leaves, 2).unwrap();
        let root = *merkle.last().unwrap();
        let tree = MerkleTree::build(Scheme::FiscoBcos, leaves).unwrap();
        for index in 0..n {
            let theirs = fisco_generate_proof(leaves, &merkle, index, 2);
            let ours = tree.fisco_proof(index as u64).unwrap();
            assert_eq!(ours, theirs, "n={n} index={index}");
            assert!(fisco_verify_proof(&ours, leaves[index], &root));
            assert_eq!(
                verify_fisco_inclusion(&root, n as u64, &leaves[index], &ours),
                Ok(index as u64),
                "n={n} index={index}"
            );
            // The audit-path form of the same tree.
            let path = tree.inclusion_proof(index as u64).unwrap();
            verify_inclusion(
                Scheme::FiscoBcos,
                &root,
                index as u64,
                n as u64,
                &leaves[index],
                &path,
            )
            .unwrap();
        }
    }
}

/// FISCO BCOS documentation (FISCO-BCOS-DOC, `3.x/zh_CN/docs/develop/api.md`, an SM-crypto
/// chain): block 0 has no transactions and `txsRoot` 0x00…00; block 2 holds one transaction
/// whose hash is its `txsRoot`, and one receipt whose hash is its `receiptsRoot`, with
/// `txReceiptProof` = [the receipt hash].
#[test]
fn fisco_documented_blocks() {
    let hex32 = |s: &str| -> Hash { hex::decode(s).unwrap().try_into().unwrap() };
    let empty: &[Hash] = &[];
    assert_eq!(
        merkle_root(Scheme::FiscoBcos, empty).unwrap().root(),
        [0; 32]
    );
    let tx = hex32("dce357d4a81bfe2c9b9cc83fde7576a8ae8dede910b70cdf9abed71a32ed10bf");
    assert_eq!(merkle_root(Scheme::FiscoBcos, &[tx]).unwrap().root(), tx);
    let receipt = hex32("f18d1984c7745a826e4b8d608b823534f1e44b273f75972e16cf2ac3ff313e14");
    let tree = MerkleTree::build(Scheme::FiscoBcos, &[receipt]).unwrap();
    assert_eq!(tree.root(), receipt);
    assert_eq!(tree.fisco_proof(0).unwrap(), vec![receipt]);
    assert_eq!(
        verify_fisco_inclusion(&receipt, 1, &receipt, &[receipt]),
        Ok(0)
    );
}

#[test]
fn hostile_fisco_proofs_are_refused_with_a_reason() {
    let leaves = hashes(11, 3);
    let tree = MerkleTree::build(Scheme::FiscoBcos, &leaves).unwrap();
    let root = tree.root();
    let n = leaves.len() as u64;
    let proof = tree.fisco_proof(10).unwrap(); // the odd last leaf: a group of 1 at level 0
    assert_eq!(proof[0], fisco_number(1));
    let good = verify_fisco_inclusion(&root, n, &leaves[10], &proof);
    assert_eq!(good, Ok(10));

    let malformed = |p: &[Hash]| {
        matches!(
            verify_fisco_inclusion(&root, n, &leaves[10], p),
            Err(ProofError::Malformed { .. })
        )
    };
    assert!(malformed(&[]));
    // A count of 0, of 3, a count with padding, a group past the end, a trailing element.
    for bad_count in [fisco_number(0), fisco_number(3), {
        let mut c = fisco_number(1);
        c[31] = 1;
        c
    }] {
        let mut p = proof.clone();
        p[0] = bad_count;
        assert!(malformed(&p), "count {bad_count:?}");
    }
    assert!(malformed(&proof[..proof.len() - 1]));
    let mut p = proof.clone();
    p.push(fisco_number(1));
    assert!(malformed(&p));

    // A leaf not in the tree, a leaf of another position, a swapped group order.
    assert_eq!(
        verify_fisco_inclusion(&root, n, &[9; 32], &proof),
        Err(ProofError::NotInGroup { group: 0 })
    );
    let other = tree.fisco_proof(3).unwrap();
    assert_eq!(
        verify_fisco_inclusion(&root, n, &leaves[10], &other),
        Err(ProofError::NotInGroup { group: 0 })
    );
    // An interior node claimed as a leaf: drop the leaves' group. FISCO's own check accepts
    // this (no domain separation); with the size known it is the wrong number of groups.
    let level1 = &proof[2..];
    let node = tree.fisco_proof(10).unwrap()[1];
    let parent = sm3_concat(&[node]);
    assert!(fisco_verify_proof(level1, parent, &root));
    assert_eq!(
        verify_fisco_inclusion(&root, n, &parent, level1),
        Err(ProofError::WrongPathLength {
            expected: 4,
            actual: 3
        })
    );
    // A size that puts the leaf elsewhere: the group sizes no longer fit the tree.
    assert!(matches!(
        verify_fisco_inclusion(&root, 12, &leaves[10], &proof),
        Err(ProofError::WrongGroupSize { group: 0, .. })
    ));
    assert_eq!(
        verify_fisco_inclusion(&[0; 32], n, &leaves[10], &proof),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_fisco_inclusion(&root, 0, &leaves[10], &proof),
        Err(ProofError::EmptyTree)
    );
    // Every one-element change to every proof of this tree is refused.
    for index in 0..n {
        let proof = tree.fisco_proof(index).unwrap();
        for position in 0..proof.len() {
            let mut p = proof.clone();
            p[position][5] ^= 1;
            assert!(
                verify_fisco_inclusion(&root, n, &leaves[index as usize], &p).is_err(),
                "index {index} position {position}"
            );
        }
    }
    // Other schemes have no FISCO proofs.
    let sha = MerkleTree::build(Scheme::ChainMakerSha256, &leaves).unwrap();
    assert!(matches!(
        sha.fisco_proof(0),
        Err(MerkleError::Unsupported { .. })
    ));
}

// ---------------------------------------------------------------- ChainMaker, transcribed

/// `BuildMerkleTree` + `GetMerkleRoot`: a flat array of `2·next_pow2 − 1` slots, `None` for
/// padding; `(x, None)` → H(x ‖ x), `(None, _)` → None. No hashes → no root.
fn chainmaker_tree(leaves: &[Hash], hash: HashFn) -> Vec<Option<Hash>> {
    let next = leaves.len().next_power_of_two();
    let size = 2 * next - 1;
    let mut tree: Vec<Option<Hash>> = vec![None; size];
    for (slot, leaf) in tree.iter_mut().zip(leaves) {
        *slot = Some(*leaf);
    }
    let mut offset = next;
    let mut i = 0;
    while i + 1 < size {
        tree[offset] = match (tree[i], tree[i + 1]) {
            (None, _) => None,
            (Some(l), None) => Some(hash(&[l, l])),
            (Some(l), Some(r)) => Some(hash(&[l, r])),
        };
        offset += 1;
        i += 2;
    }
    tree
}

/// `GetMerklePath(index, tree)` (index-based): bottom-up siblings, a missing sibling replaced
/// by the node itself.
fn chainmaker_path(tree: &[Option<Hash>], index: usize) -> Vec<Hash> {
    let mut path = Vec::new();
    let (mut start, mut width, mut i) = (0, tree.len().div_ceil(2), index);
    while width > 1 {
        let sibling = tree[start + (i ^ 1)].or(tree[start + i]).unwrap();
        path.push(sibling);
        start += width;
        width /= 2;
        i /= 2;
    }
    path
}

/// `Prove(paths, root, txHash, index)`.
fn chainmaker_prove(path: &[Hash], root: &Hash, leaf: Hash, index: usize, hash: HashFn) -> bool {
    if leaf == *root && index == 0 && path.is_empty() {
        return true;
    }
    let mut cur = leaf;
    let mut i = index;
    for p in path {
        cur = if i % 2 == 1 {
            hash(&[*p, cur])
        } else {
            hash(&[cur, *p])
        };
        i >>= 1;
    }
    cur == *root
}

#[test]
fn chainmaker_roots_and_paths_equal_the_transcribed_flat_array() {
    let all = hashes(5 * merkle::SUBTREE_LEAVES, 4);
    let schemes: [(Scheme, HashFn); 2] = [
        (Scheme::ChainMakerSm3, sm3_concat),
        (Scheme::ChainMakerSha256, sha256_concat),
    ];
    for (scheme, hash) in schemes {
        let empty: &[Hash] = &[];
        assert_eq!(
            merkle_root(scheme, empty),
            Err(MerkleError::EmptyTree { scheme })
        );
        assert_eq!(
            MerkleTree::build(scheme, empty).unwrap_err(),
            MerkleError::EmptyTree { scheme }
        );
        assert_eq!(scheme.empty_root(), None);
        for n in sizes().into_iter().filter(|&n| n > 0) {
            let leaves = &all[..n];
            let flat = chainmaker_tree(leaves, hash);
            let expected = flat.last().unwrap().unwrap();
            assert_eq!(
                merkle_root(scheme, leaves).unwrap().root(),
                expected,
                "{scheme} n={n}"
            );
            assert_eq!(merkle_root_reference(scheme, leaves).unwrap(), expected);
            if n > 200 {
                continue;
            }
            let tree = MerkleTree::build(scheme, leaves).unwrap();
            assert_eq!(tree.root(), expected);
            for (index, leaf) in leaves.iter().enumerate() {
                let theirs = chainmaker_path(&flat, index);
                let ours = tree.inclusion_proof(index as u64).unwrap();
                assert_eq!(ours, theirs, "{scheme} n={n} index={index}");
                assert!(chainmaker_prove(&ours, &expected, *leaf, index, hash));
                verify_inclusion(scheme, &expected, index as u64, n as u64, leaf, &ours).unwrap();
            }
        }
    }
}

#[test]
fn chainmaker_duplicate_pairs_are_reported_as_for_bitcoin() {
    // [a b c] and [a b c c] share a root: the CVE-2012-2459 shape.
    for scheme in [Scheme::ChainMakerSm3, Scheme::ChainMakerSha256] {
        let base = hashes(3, 5);
        let mut mutated = base.clone();
        mutated.push(base[2]);
        let honest = merkle_root(scheme, &base).unwrap();
        let forged = merkle_root(scheme, &mutated).unwrap();
        assert_eq!(honest.root(), forged.root());
        assert_eq!(honest.duplicate_pair(), None);
        let pair = forged.duplicate_pair().expect("reported");
        assert_eq!((pair.level, pair.index), (0, 2));
        assert_eq!(
            MerkleTree::build(scheme, &mutated)
                .unwrap()
                .root_report()
                .duplicate_pair(),
            Some(pair)
        );
        let mut log = IncrementalTree::new(scheme);
        log.append_many(&mutated).unwrap();
        assert_eq!(log.root_report().unwrap().duplicate_pair(), Some(pair));
        assert_eq!(
            IncrementalTree::new(scheme).root(),
            Err(MerkleError::EmptyTree { scheme })
        );
    }
}

#[test]
fn hash_leaf_schemes_take_32_byte_leaves_only() {
    for scheme in [
        Scheme::FiscoBcos,
        Scheme::ChainMakerSm3,
        Scheme::ChainMakerSha256,
    ] {
        let leaves: Vec<Vec<u8>> = vec![vec![1; 32], vec![2; 31], vec![3; 32]];
        assert_eq!(
            merkle_root(scheme, &leaves),
            Err(MerkleError::InvalidLeafLength { index: 1, len: 31 })
        );
        assert_eq!(scheme.leaf_hash(&[7; 32]), Ok([7; 32]));
        assert!(scheme.leaf_hash(&[7; 33]).is_err());
        assert_eq!(scheme.name().parse::<Scheme>(), Ok(scheme));
    }
}
