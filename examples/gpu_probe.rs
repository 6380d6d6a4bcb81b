use blockverify::workload::{Workload, WorkloadSpec};
use blockverify::{Backend, Policy, Verifier};
use std::time::Instant;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(64);
    let w = Workload::generate(&WorkloadSpec {
        items: n,
        issuers: 0,
        message_len: 64,
        invalid_fraction: 0.1,
        seed: 1,
    });
    let items = w.items();
    for policy in [Policy::Zip215, Policy::Strict] {
        let v = Verifier::builder()
            .policy(policy)
            .backend(Backend::Gpu)
            .build()
            .unwrap();
        let t = Instant::now();
        let r = v.verify_signatures(&items);
        println!(
            "{policy:?} first call {:?} compile {:?}",
            t.elapsed(),
            v.gpu_compile_time()
        );
        let t = Instant::now();
        let r2 = v.verify_signatures(&items);
        println!(
            "second call {:?} ({:.0}/s) fault {:?}",
            t.elapsed(),
            n as f64 / t.elapsed().as_secs_f64(),
            r2.gpu_fault()
        );
        let cpu = Verifier::builder()
            .policy(policy)
            .backend(Backend::Cpu)
            .build()
            .unwrap()
            .verify_signatures(&items);
        let diff: Vec<_> = (0..n)
            .filter(|&i| r.verdict(i) != cpu.verdict(i))
            .take(5)
            .map(|i| (i, r.verdict(i), cpu.verdict(i)))
            .collect();
        println!(
            "mismatches: {} first {:?}",
            (0..n).filter(|&i| r.verdict(i) != cpu.verdict(i)).count(),
            diff
        );
    }
}
