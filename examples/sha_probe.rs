//! Quick probe of SHA-256 path throughput (nodes/s) on this machine; the criterion bench and
//! `blockverify bench merkle` are the recorded measurements.
use blockverify::merkle::sha256::{Platform, sha_ni_bound};
use blockverify::merkle::{Scheme, merkle_root_with};
use std::time::Instant;

fn main() {
    for streams in 1..=4 {
        let mut best: f64 = 0.0;
        for _ in 0..5 {
            best = best.max(sha_ni_bound(streams, 2_000).unwrap_or(0.0));
        }
        println!(
            "sha-ni bound streams={streams}: {:.1} M compressions/s",
            best / 1e6
        );
    }
    let leaves: Vec<[u8; 32]> = (0..1u32 << 20)
        .map(|i| {
            let mut l = [0u8; 32];
            l[..4].copy_from_slice(&i.to_le_bytes());
            l
        })
        .collect();
    for p in Platform::available()
        .into_iter()
        .filter(|p| *p != Platform::Portable)
    {
        for scheme in [Scheme::Rfc9162, Scheme::Bitcoin] {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                std::hint::black_box(merkle_root_with(scheme, p, &leaves).unwrap());
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!(
                "{:>8} {:>8} 2^20 root 1 thread: {:.1} ms = {:.1} M nodes/s",
                p.name(),
                scheme.name(),
                best * 1e3,
                (leaves.len() as f64 - 1.0) / best / 1e6
            );
        }
    }
}
