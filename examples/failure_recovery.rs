//! How fast the CPU engine returns to full-size batch equations after a burst of bad
//! signatures: one 16,384-item batch that is 100% invalid, then all-valid 4,096-item batches,
//! each timed. The engine shrinks its batch groups while failures are recent (see
//! `src/sig/engine.rs`); this shows how long "recent" lasts in honest traffic.
//!
//! ```sh
//! cargo run --release --example failure_recovery
//! ```

use blockverify::{Policy, Verifier};
use blockverify_testkit::{Workload, WorkloadSpec};

fn main() {
    let spec = |items, invalid_fraction, seed| WorkloadSpec {
        items,
        issuers: 64,
        message_len: 256,
        invalid_fraction,
        seed,
    };
    let burst = Workload::generate(&spec(16_384, 1.0, 1));
    let honest = Workload::generate(&spec(4_096, 0.0, 2));
    let verifier = Verifier::builder()
        .policy(Policy::Zip215)
        .build()
        .expect("a CPU verifier");
    let time = |items: &[blockverify::SigItem<'_>]| {
        let started = std::time::Instant::now();
        let report = verifier.verify_signatures(items);
        (started.elapsed(), report)
    };
    // Warm the key cache and the pool, then settle on honest traffic.
    for _ in 0..4 {
        time(&honest.items());
    }
    let (settled, _) = time(&honest.items());
    let (burst_time, report) = time(&burst.items());
    assert_eq!(report.invalid_indices(), burst.corrupted);
    println!(
        "honest batch before the burst: {:.0} sigs/s",
        4096.0 / settled.as_secs_f64()
    );
    println!(
        "burst of 16,384 invalid: {:.0} sigs/s",
        16_384.0 / burst_time.as_secs_f64()
    );
    let mut after = 0;
    for batch in 1..=40 {
        let (elapsed, report) = time(&honest.items());
        assert!(report.all_valid());
        after += 4096;
        if batch <= 8 || batch % 8 == 0 {
            println!(
                "honest batch {batch:>2} after the burst ({after:>6} items): {:.0} sigs/s",
                4096.0 / elapsed.as_secs_f64()
            );
        }
    }
}
