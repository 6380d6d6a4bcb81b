//! FISCO BCOS proof verification on arbitrary proofs: never panics, and never accepts a
//! leaf that is not the tree's own at the index it reports. (With a wrong size, the only thing
//! a proof can place is another node of the same tree, since each level of a FISCO tree is
//! itself a FISCO tree: the size must come from the same authenticated source as the root.)
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
    let n = 1 + (data[0] as usize % 40);
    let leaves: Vec<[u8; 32]> = (0..n).map(|i| sha256(&[data[1], i as u8])).collect();
    let tree = MerkleTree::build(Scheme::FiscoBcos, &leaves).expect("tree");
    let root = tree.root();
    // Every level of the tree, to tell a leaf from an interior node.
    let mut levels = vec![leaves.clone()];
    while levels.last().expect("one level").len() > 1 {
        let next = merkle::hash_level(
            Scheme::FiscoBcos,
            blockverify::unstable::HashPaths::detect(),
            levels.last().expect("one level"),
        );
        levels.push(next);
    }
    let index = u64::from(data[2]) % (n as u64 + 2);
    let body = &data[4..];
    // The proof: the tree's own for `index` (mutated by the input), or the input's elements,
    // where a byte below 4 makes a count element.
    let mut proof: Vec<[u8; 32]> = match (data[3] % 3, tree.fisco_proof(index)) {
        (0, Ok(mut p)) => {
            for chunk in body.chunks_exact(2) {
                let (pos, bit) = (chunk[0] as usize, chunk[1]);
                let len = p.len();
                if let Some(h) = p.get_mut(pos % len) {
                    h[bit as usize % 32] ^= 1 << (bit % 8);
                }
            }
            p
        }
        (1, _) => body
            .iter()
            .map(|&b| {
                if b < 4 {
                    let mut count = [0u8; 32];
                    count[3] = b;
                    count
                } else {
                    let level = &levels[b as usize % levels.len()];
                    level[b as usize % level.len()]
                }
            })
            .collect(),
        _ => body
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32 bytes"))
            .collect(),
    };
    if body.len() % 7 == 3 {
        proof.truncate(proof.len() / 2);
    }
    // The leaf claimed: the tree's own, an interior node, or something else.
    let leaf = match body.len() % 4 {
        0 => sha256(body),
        1 => {
            let level = &levels[body.len() % levels.len()];
            level[body.len() % level.len()]
        }
        _ => tree.leaf_hash(index).unwrap_or_else(|| sha256(body)),
    };
    let size = match body.len() % 11 {
        4 => n as u64 + 1,
        5 => (n as u64).div_ceil(2),
        _ => n as u64,
    };
    if let Ok(found) = merkle::verify_fisco_inclusion(&root, size, &leaf, &proof) {
        assert!(found < size);
        if size == n as u64 {
            assert_eq!(
                leaves[found as usize], leaf,
                "accepted a leaf not at its index"
            );
        } else {
            assert!(
                levels
                    .iter()
                    .any(|level| level.get(found as usize) == Some(&leaf)),
                "accepted something that is no node of the tree"
            );
        }
    }
});
