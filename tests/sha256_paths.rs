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
    assert!(platforms.contains(&Platform::portable()));
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

/// The tests above run every path `Platform::available` lists; this makes sure that list is
/// every path the CPU can run, so a SIMD path is never skipped on a CPU that has its
/// instructions (and never offered on one that lacks them).
#[test]
fn every_path_the_cpu_has_is_available_and_tested() {
    let names: Vec<&str> = Platform::available().iter().map(|p| p.name()).collect();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let expected = [
            ("sha-ni", has!("sha") && has!("sse4.1") && has!("ssse3")),
            ("avx2", has!("avx2")),
            ("avx512", has!("avx512f") && has!("avx512bw")),
        ];
        for (name, cpu_has_it) in expected {
            assert_eq!(
                names.contains(&name),
                cpu_has_it,
                "path {name}: CPU has it = {cpu_has_it}, available = {names:?}"
            );
            assert_eq!(Platform::from_name(name).is_some(), cpu_has_it, "{name}");
        }
    }
    assert_eq!(names[0], "portable");
    assert!(Platform::available().contains(&Platform::detect()));
}
