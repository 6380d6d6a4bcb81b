//! Runs one signature workload in a loop so a profiler can show where the time goes:
//!
//! ```sh
//! cargo build --release --example profile_sigs
//! perf record -g target/release/examples/profile_sigs 64 0.0 zip215 200
//! perf report --no-children
//! ```
//!
//! Arguments: issuers (0 = every item its own key), invalid fraction, policy, repetitions
//! (timed, after one untimed warm-up call), and `run` to put the invalid items in one
//! contiguous run instead of scattering them, the generator's seed, and the call size (items
//! per call, consecutive calls covering the workload, as `bench sigs`'s "calls of 512"; the
//! default is one call of all 16,384).

use blockverify::{Policy, Verifier};
use blockverify_testkit::{InvalidPlacement, Workload, WorkloadSpec};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let issuers: usize = arg(1, "64").parse().expect("issuers: a number");
    let invalid: f64 = arg(2, "0").parse().expect("invalid fraction: a number");
    let policy: Policy = arg(3, "zip215").parse().expect("policy");
    let reps: usize = arg(4, "100").parse().expect("repetitions: a number");
    let placement = match arg(5, "scattered").as_str() {
        "run" => InvalidPlacement::OneRun,
        _ => InvalidPlacement::Scattered,
    };
    let spec = WorkloadSpec {
        items: 16_384,
        issuers,
        message_len: 256,
        invalid_fraction: invalid,
        seed: arg(6, "1").parse().expect("seed: a number"),
    };
    let traffic = Workload::generate_with_placement(&spec, placement);
    if let (Some(first), Some(last)) = (traffic.corrupted.first(), traffic.corrupted.last()) {
        eprintln!(
            "{} invalid items, from {first} to {last}",
            traffic.corrupted.len()
        );
    }
    let items = traffic.items();
    let call_size: usize = arg(7, "16384").parse().expect("call size: a number");
    let call_size = call_size.max(1);
    let verifier = Verifier::builder()
        .policy(policy)
        .key_cache_size(32_768)
        .build()
        .expect("a CPU verifier");
    // One untimed call first, as `blockverify bench` does: the key cache fills and the engine
    // learns the failure rate (a node's first bad block is another measurement: BENCHMARKS.md).
    let t = std::time::Instant::now();
    for call in items.chunks(call_size) {
        let _ = verifier.verify_signatures(call);
    }
    let first = items.len() as f64 / t.elapsed().as_secs_f64();
    eprintln!("first call (no failure history, cold key cache): {first:.0} sigs/s");
    let t = std::time::Instant::now();
    for _ in 0..reps {
        let mut invalid = Vec::new();
        for (c, call) in items.chunks(call_size).enumerate() {
            let report = verifier.verify_signatures(call);
            invalid.extend(report.invalid_indices().iter().map(|i| c * call_size + i));
        }
        assert_eq!(invalid, traffic.corrupted);
    }
    let per_s = (reps * items.len()) as f64 / t.elapsed().as_secs_f64();
    eprintln!("{per_s:.0} sigs/s");
}
