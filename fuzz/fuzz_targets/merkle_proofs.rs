//! Merkle proof verification on arbitrary proofs: never panics, and never accepts a leaf,
//! index or old root that is not the tree's own.
#![no_main]

use blockverify::merkle::{self, MerkleTree, Scheme};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let scheme = if data[0] & 1 == 0 {
        Scheme::Rfc9162
    } else {
        Scheme::Bitcoin
    };
    let n = 1 + (data[1] as usize % 40);
    let leaves: Vec<Vec<u8>> = (0..n)
        .map(|i| match scheme {
            Scheme::Bitcoin => sha256(&[data[2], i as u8]).to_vec(),
            _ => vec![data[2], i as u8],
        })
        .collect();
    let tree = MerkleTree::build(scheme, &leaves).expect("tree");
    let root = tree.root();
    let index = u64::from(data[3]) % (n as u64 + 2);
    let body = &data[4..];
    // The proof: the tree's own (possibly mutated by the input) or the input's hashes.
    let mut proof: Vec<[u8; 32]> = if body.first().is_some_and(|b| b & 1 == 1) && index < n as u64 {
        let mut p = tree.inclusion_proof(index).expect("in range");
        for (k, chunk) in body[1..].chunks(2).enumerate() {
            let len = p.len().max(1);
            if let (Some(h), [pos, bit]) = (p.get_mut(k % len), chunk) {
                h[*pos as usize % 32] ^= 1 << (bit % 8);
            }
        }
        p
    } else {
        body.chunks_exact(32)
            .map(|c| c.try_into().unwrap())
            .collect()
    };
    if body.len() % 7 == 3 {
        proof.truncate(proof.len() / 2);
    }
    let leaf_hash = match (body.len() % 5, tree.leaf_hash(index)) {
        (0, _) | (_, None) => sha256(body),
        (_, Some(h)) => h,
    };
    let size = if body.len() % 11 == 4 {
        n as u64 + 1
    } else {
        n as u64
    };
    // A root does not commit to its tree's size: the size only fixes the path's shape, so a
    // proof may verify under another size whose path has the same shape (see
    // verify_inclusion's docs). What must never happen is a leaf or index that is not the
    // tree's own being accepted.
    if merkle::verify_inclusion(scheme, &root, index, size, &leaf_hash, &proof).is_ok() {
        assert!(index < n as u64, "accepted an index past the tree");
        assert_eq!(
            Some(leaf_hash),
            tree.leaf_hash(index),
            "accepted a leaf not in the tree"
        );
    }
    if scheme == Scheme::Rfc9162 {
        let old = 1 + u64::from(data[3]) % (n as u64 + 1);
        let old_root = if body.len().is_multiple_of(3) {
            sha256(body)
        } else {
            merkle::merkle_root(scheme, &leaves[..(old as usize).min(n)])
                .expect("root")
                .root()
        };
        if merkle::verify_consistency(scheme, old, n as u64, &old_root, &root, &proof).is_ok() {
            assert!(old <= n as u64);
            let real = merkle::merkle_root(scheme, &leaves[..old as usize])
                .unwrap()
                .root();
            assert_eq!(old_root, real, "accepted a root that is not the old tree's");
        }
    }
});
