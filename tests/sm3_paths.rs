//! Every multi-buffer SM3 path against the standard's vectors (GB/T 32905-2016 Annex A), the
//! RustCrypto `sm3` crate and the system OpenSSL, on random lengths and batch sizes.

use blockverify::merkle::sm3::{Platform, sm3};
use rand::{RngExt, SeedableRng};
use sm3::{Digest, Sm3};

fn rustcrypto(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

fn vectors() -> Vec<(Vec<u8>, [u8; 32])> {
    include_str!("data/guomi/sm3_vectors.txt")
        .lines()
        .map(|line| {
            let (message, digest) = line.split_once(' ').unwrap();
            let message = if message == "-" {
                Vec::new()
            } else {
                hex::decode(message).unwrap()
            };
            (message, hex::decode(digest).unwrap().try_into().unwrap())
        })
        .collect()
}

/// The paths this CPU must offer: a path whose instructions the CPU has is tested, never
/// skipped.
#[test]
fn available_paths_match_the_cpu() {
    let names: Vec<_> = Platform::available().iter().map(|p| p.name()).collect();
    eprintln!("sm3 paths: {names:?}");
    assert_eq!(names[0], "portable");
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw");
        assert_eq!(names.contains(&"avx2"), avx2);
        assert_eq!(names.contains(&"avx512"), avx512);
        let best = if avx512 {
            "avx512"
        } else if avx2 {
            "avx2"
        } else {
            "portable"
        };
        assert_eq!(Platform::detect().name(), best);
    }
    for p in Platform::available() {
        assert_eq!(Platform::from_name(p.name()), Some(p));
    }
    assert_eq!(Platform::from_name("sha-ni"), None);
}

#[test]
fn standard_vectors_on_every_path() {
    let vectors = vectors();
    assert!(vectors.len() >= 3);
    assert_eq!(
        hex::encode(sm3(b"abc")),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    let messages: Vec<&[u8]> = vectors.iter().map(|(m, _)| m.as_slice()).collect();
    let expected: Vec<[u8; 32]> = vectors.iter().map(|(_, d)| *d).collect();
    for p in Platform::available() {
        assert_eq!(p.hash_many(&messages), expected, "{}", p.name());
        // Each vector alone and in a full batch of copies (every lane).
        for (m, d) in &vectors {
            let copies = vec![m.as_slice(); 37];
            assert!(p.hash_many(&copies).iter().all(|x| x == d), "{}", p.name());
        }
    }
}

#[test]
fn every_path_matches_rustcrypto_on_random_lengths_and_batch_sizes() {
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(0x5_3333);
    for batch in 1..=100usize {
        let messages: Vec<Vec<u8>> = (0..batch)
            .map(|i| {
                let len = if batch % 3 == 0 {
                    64
                } else if i % 4 == 0 {
                    rng.random_range(0..=2000)
                } else {
                    rng.random_range(0..=130)
                };
                (0..len).map(|_| rng.random()).collect()
            })
            .collect();
        let expected: Vec<[u8; 32]> = messages.iter().map(|m| rustcrypto(m)).collect();
        for p in Platform::available() {
            assert_eq!(
                p.hash_many(&messages),
                expected,
                "{} batch {batch}",
                p.name()
            );
        }
    }
}

#[test]
fn node_kernel_matches_rustcrypto_for_every_count() {
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(0x5_3334);
    let children: Vec<[u8; 32]> = (0..2 * 70).map(|_| rng.random()).collect();
    for p in Platform::available() {
        for pairs in 0..=70usize {
            let mut parents = vec![[0xee; 32]; pairs + 1];
            p.hash_pairs(&children[..2 * pairs], &mut parents);
            for (i, parent) in parents[..pairs].iter().enumerate() {
                let mut message = children[2 * i].to_vec();
                message.extend_from_slice(&children[2 * i + 1]);
                assert_eq!(*parent, rustcrypto(&message), "{} {pairs} pairs", p.name());
            }
            // Nothing beyond the pairs is written.
            assert_eq!(parents[pairs], [0xee; 32]);
        }
    }
}

/// The system OpenSSL (`openssl dgst -sm3`), one process for a whole batch of files. CI
/// installs it (`.ci/run`); without it this test fails and says so rather than skip.
#[test]
fn every_path_matches_the_system_openssl() {
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(0x5_3335);
    let dir = std::env::temp_dir().join(format!("blockverify-sm3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let messages: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            let len = if i < 50 {
                i * 41
            } else {
                rng.random_range(0..=2000)
            };
            (0..len).map(|_| rng.random()).collect()
        })
        .collect();
    let files: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let path = dir.join(format!("m{i:03}"));
            std::fs::write(&path, m).unwrap();
            path
        })
        .collect();
    let output = std::process::Command::new("openssl")
        .args(["dgst", "-sm3", "-r"])
        .args(&files)
        .output()
        .expect("the system `openssl` command is needed for this oracle (apt-get install openssl)");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected: Vec<[u8; 32]> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            hex::decode(line.split(' ').next().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    assert_eq!(expected.len(), messages.len());
    for p in Platform::available() {
        for batch in 1..=messages.len() {
            assert_eq!(
                p.hash_many(&messages[..batch]),
                expected[..batch],
                "{} batch {batch}",
                p.name()
            );
        }
    }
}
