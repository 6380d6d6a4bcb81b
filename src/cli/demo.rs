//! `blockverify demo`: generate signed ledger traffic and clear it: every signature under
//! each policy, and the block's Merkle root on every backend available.

use std::process::ExitCode;
use std::time::Instant;

use blockverify::merkle::Scheme;
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
        // Signatures run on the CPU engine in this release (GPU signature kernels come later).
        for backend in [Backend::Cpu] {
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

    // The block's records (signature ‖ message) as RFC 9162 leaves: one root per backend.
    let records: Vec<Vec<u8>> = items
        .iter()
        .map(|item| [&item.signature[..], item.message].concat())
        .collect();
    println!(
        "\n{:<8} {:>10} {:>12}  merkle root (rfc9162, {} records)",
        "backend",
        "ms",
        "leaves/s",
        records.len()
    );
    let mut roots = Vec::new();
    for backend in [Backend::Cpu, Backend::Gpu] {
        let verifier = match Verifier::builder().backend(backend).build() {
            Ok(v) => v,
            Err(e) => {
                println!("{:<8} skipped: {e}", backend.name());
                continue;
            }
        };
        // The first GPU job compiles nothing (pipelines are built with the verifier) but
        // allocates its buffers; time the second.
        verifier.merkle_root(Scheme::Rfc9162, &records)?;
        let t = Instant::now();
        let report = verifier.merkle_root(Scheme::Rfc9162, &records)?;
        let secs = t.elapsed().as_secs_f64();
        let on = match (report.backend(), verifier.gpu_adapter(), report.gpu_fault()) {
            (Backend::Gpu, Some(a), _) => format!(" on {}", a.name),
            (_, _, Some(fault)) => format!(" (GPU failed: {fault}; recomputed on the CPU)"),
            _ => String::new(),
        };
        println!(
            "{:<8} {:>10.2} {:>12.0}  {}{on}",
            backend.name(),
            secs * 1e3,
            records.len() as f64 / secs,
            hex::encode(report.root()),
        );
        roots.push(report.root());
    }
    let roots_agree = roots.windows(2).all(|w| w[0] == w[1]);
    all_right &= roots_agree;
    if !roots_agree {
        println!("MISMATCH: the backends computed different roots");
    }
    Ok(if all_right {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
