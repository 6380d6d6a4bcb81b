//! `blockverify demo`: generate signed ledger traffic and clear it under each policy.

use std::process::ExitCode;
use std::time::Instant;

use blockverify::workload::{Workload, WorkloadSpec};
use blockverify::{Backend, Policy, Verifier};

use super::CliError;
use super::info::{cpu_model, curve_backend};

pub struct Options {
    pub records: usize,
    pub issuers: usize,
    pub invalid_rate: f64,
    pub seed: u64,
}

pub fn run(opts: &Options) -> Result<ExitCode, CliError> {
    if !(0.0..=1.0).contains(&opts.invalid_rate) {
        return Err("--invalid-rate must be between 0 and 1".into());
    }
    println!("blockverify demo on {} ({})", cpu_model(), curve_backend());
    let t = Instant::now();
    let traffic = Workload::generate(&WorkloadSpec {
        items: opts.records,
        issuers: opts.issuers,
        message_len: 256,
        invalid_fraction: opts.invalid_rate,
        seed: opts.seed,
    });
    println!(
        "generated {} signed 256-byte records from {} issuers, {} corrupted, in {:.2}s",
        traffic.len(),
        opts.issuers,
        traffic.corrupted.len(),
        t.elapsed().as_secs_f64()
    );
    let items = traffic.items();
    println!(
        "\n{:<8} {:<8} {:>8} {:>10} {:>10} {:>12}  verdicts",
        "policy", "backend", "threads", "valid", "invalid", "sigs/s"
    );
    let mut all_right = true;
    for policy in [Policy::Zip215, Policy::Strict] {
        for backend in [Backend::Cpu, Backend::Gpu] {
            let verifier = match Verifier::builder().policy(policy).backend(backend).build() {
                Ok(v) => v,
                Err(e) => {
                    println!("{:<8} {:<8} skipped: {e}", policy.name(), backend.name());
                    continue;
                }
            };
            let t = Instant::now();
            let report = verifier.verify_signatures(&items);
            let secs = t.elapsed().as_secs_f64();
            let exact = report.invalid_indices() == traffic.corrupted;
            all_right &= exact;
            println!(
                "{:<8} {:<8} {:>8} {:>10} {:>10} {:>12.0}  {}",
                policy.name(),
                backend.name(),
                verifier.threads(),
                report.valid_count(),
                report.invalid_count(),
                items.len() as f64 / secs,
                if exact {
                    "exactly the corrupted records"
                } else {
                    "MISMATCH"
                }
            );
        }
    }
    if let Some(&first) = traffic.corrupted.first() {
        println!("\nfirst corrupted record: #{first} (one message bit flipped after signing)");
    }
    Ok(if all_right {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
