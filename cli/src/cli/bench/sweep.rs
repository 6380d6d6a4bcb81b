//! Throughput against batch size, for `bench --plot`: this crate's signature engine beside its
//! peers at each batch size (64 issuers, all valid), on the same records.
#![forbid(unsafe_code)]

use blockverify::{Backend, SigItem, Verifier};
use blockverify_testkit::{Workload as Traffic, WorkloadSpec};

use super::plot::Point;
use super::progress;
use super::{CliError, Peers, median_time};

/// Signature throughput per engine at batch sizes 64 .. 16,384 (4,096 with `quick`).
pub fn sigs(quick: bool, threads: usize) -> Result<Vec<Point>, CliError> {
    let sizes: Vec<usize> = if quick {
        vec![64, 256, 1024, 4096]
    } else {
        vec![64, 256, 1024, 4096, 16_384]
    };
    let reps = if quick { 3 } else { 5 };
    let largest = *sizes.last().expect("sizes");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let traffic = pool.install(|| {
        Traffic::generate(&WorkloadSpec {
            items: largest,
            issuers: 64,
            message_len: 256,
            invalid_fraction: 0.0,
            seed: 0x5EE9,
        })
    });
    let all_items = traffic.items();
    let verifier = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(threads)
        .build()?;
    let panel = format!("Ed25519 signatures, 64 issuers, all valid ({threads} threads)");
    let mut points = Vec::new();
    let bar = progress::bar(sizes.len());
    for &n in &sizes {
        progress::step(&bar, format!("signature sweep, batch {n}"));
        let items: &[SigItem<'_>] = &all_items[..n];
        let peers = Peers::new(items);
        if !verifier.verify_signatures(items).all_valid()
            || !peers.dalek_batch(threads)
            || !pool.install(|| peers.zebra_batch(threads))
        {
            return Err(format!("signature sweep: a batch of {n} did not verify").into());
        }
        let mut point = |series: &str, seconds: f64| {
            points.push(Point {
                series: series.to_string(),
                panel: panel.clone(),
                batch: n,
                per_s: n as f64 / seconds,
            });
        };
        point(
            "blockverify zip215 (cpu)",
            median_time(reps, || {
                std::hint::black_box(verifier.verify_signatures(items));
            }),
        );
        point(
            "ed25519-dalek verify_batch",
            median_time(reps, || {
                pool.install(|| std::hint::black_box(peers.dalek_batch(threads)));
            }),
        );
        point(
            "ed25519-zebra batch",
            median_time(reps, || {
                pool.install(|| std::hint::black_box(peers.zebra_batch(threads)));
            }),
        );
        point(
            "ed25519-dalek verify each",
            median_time(reps, || {
                pool.install(|| std::hint::black_box(peers.dalek_each_parallel()));
            }),
        );
    }
    bar.finish_and_clear();
    Ok(points)
}
