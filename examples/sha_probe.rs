//! Quick probe of SHA-256 path throughput on this machine (the criterion bench and
//! `blockverify bench merkle` are the recorded measurements).
use blockverify::merkle::sha256::{Platform, sha_ni_bound};
use blockverify::merkle::{Scheme, hash_level, merkle_root, merkle_root_with};
use std::time::Instant;

fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..reps {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let bound = (1..=4)
        .map(|s| sha_ni_bound(s, 2_000).unwrap_or(0.0))
        .fold(0.0, f64::max);
    println!("sha-ni bound: {:.1} M compressions/s", bound / 1e6);
    let leaves: Vec<[u8; 32]> = (0..1u32 << 20)
        .map(|i| {
            let mut l = [0u8; 32];
            l[..4].copy_from_slice(&i.to_le_bytes());
            l
        })
        .collect();
    for p in Platform::available()
        .into_iter()
        .filter(|p| *p != Platform::portable())
    {
        let t = best_of(5, || {
            std::hint::black_box(hash_level(Scheme::Rfc9162, p, &leaves));
        });
        println!(
            "{:>8} rfc9162 node hashing 1 thread: {:.1} M nodes/s",
            p.name(),
            0.5 * leaves.len() as f64 / t / 1e6
        );
        for scheme in [Scheme::Rfc9162, Scheme::Bitcoin] {
            let t = best_of(5, || {
                std::hint::black_box(merkle_root_with(scheme, p, &leaves).unwrap());
            });
            println!(
                "{:>8} {:>8} 2^20 root 1 thread: {:.1} ms",
                p.name(),
                scheme.name(),
                t * 1e3
            );
        }
    }
    for scheme in [Scheme::Rfc9162, Scheme::Bitcoin] {
        let t = best_of(9, || {
            std::hint::black_box(merkle_root(scheme, &leaves).unwrap());
        });
        println!(
            "detected {:>8} 2^20 root all threads: {:.1} ms",
            scheme.name(),
            t * 1e3
        );
    }
}
