//! `blockverify demo`: generate two blocks of ledger traffic in memory — an Ed25519 block and
//! a guomi block (SM2 signatures, FISCO BCOS's SM3 Merkle tree) — and clear each on every
//! backend this machine has.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;

use blockverify::block::{RecordVerdict, SigAlgorithm};
use blockverify::merkle::Scheme;
use blockverify::{Backend, Placement, Policy, Verifier};
use blockverify_testkit::block::{BlockSpec, Corruption, GeneratedBlock};

use super::CliError;
use super::info::{cpu_model, curve_backend};

pub struct Options {
    pub records: usize,
    pub guomi_records: usize,
    pub issuers: usize,
    pub invalid_rate: f64,
    pub seed: u64,
}

pub fn run(opts: &Options) -> Result<ExitCode, CliError> {
    if !(0.0..=1.0).contains(&opts.invalid_rate) {
        return Err("--invalid-rate must be between 0 and 1".into());
    }
    println!("blockverify demo on {} ({})", cpu_model(), curve_backend());
    let blocks = [
        (
            "Ed25519 block (Zip215), RFC 9162 Merkle tree",
            opts.records,
            SigAlgorithm::Ed25519(Policy::Zip215),
            Scheme::Rfc9162,
        ),
        (
            "guomi block: SM2 signatures over SM3 record hashes, FISCO BCOS SM3 Merkle tree",
            opts.guomi_records,
            SigAlgorithm::Sm2,
            Scheme::FiscoBcos,
        ),
    ];
    let mut all_right = true;
    for (title, records, algorithm, scheme) in blocks {
        if records == 0 {
            continue;
        }
        println!("\n== {title}");
        let t = Instant::now();
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            records,
            issuers: opts.issuers,
            payload_len: 256,
            invalid_rate: opts.invalid_rate,
            corruptions: Corruption::PER_RECORD.to_vec(),
            algorithm,
            scheme,
            seed: opts.seed,
            ..BlockSpec::default()
        });
        println!(
            "generated {records} e-invoices, e-certificates and evidence deposits from {} issuers \
             ({:.1} MB, payloads >= 256 B), {} records corrupted, in {:.2}s",
            opts.issuers,
            generated.bytes.len() as f64 / 1e6,
            generated.corrupted.len(),
            t.elapsed().as_secs_f64()
        );
        all_right &= clear(&generated)?;
    }
    println!(
        "\nauto never uses a CPU emulation of a GPU (such as lavapipe): on a machine without a hardware GPU it is the CPU engine."
    );
    Ok(if all_right {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Clears `generated` on every backend, prints a row per backend and the records that
/// failed; whether every backend found exactly the corrupted records and the same root.
fn clear(generated: &GeneratedBlock) -> Result<bool, CliError> {
    println!(
        "{:<8} {:<10} {:<10} {:>8} {:>9} {:>8} {:>6} {:>11} {:>9} {:>9} {:>9}  result",
        "backend",
        "sigs on",
        "merkle on",
        "threads",
        "valid",
        "invalid",
        "dup",
        "records/s",
        "total ms",
        "sigs ms",
        "root ms"
    );
    let expected: Vec<usize> = generated.corrupted.iter().map(|&(i, _)| i).collect();
    let mut all_right = true;
    let mut last_report = None;
    let mut roots = Vec::new();
    for backend in [Backend::Cpu, Backend::Gpu, Backend::Auto] {
        let verifier = match Verifier::builder()
            .policy(Policy::Zip215)
            .backend(backend)
            .build()
        {
            Ok(v) => v,
            Err(e) => {
                println!("{:<8} skipped: {e}", backend.name());
                continue;
            }
        };
        let report = verifier.verify_block_bytes(&generated.bytes)?;
        let t = report.timings();
        let exact = report.bad_records() == expected;
        // Tampered payloads change the root; every other corruption is inside it.
        let tampered = generated
            .corrupted
            .iter()
            .any(|&(_, how)| how == Corruption::TamperedPayload);
        let root_right = report.root_matches() != tampered;
        all_right &= exact && root_right;
        roots.push(report.computed_root());
        // Where each part ran: the CPU, the adapter by (short) name, or split between them.
        let ran_on = |p: Placement| match (p, verifier.gpu_adapter()) {
            (Placement::Gpu, Some(a)) => a.name.split_whitespace().next().unwrap_or("gpu").into(),
            (Placement::Split, _) => "cpu+gpu".to_string(),
            (p, _) => p.name().to_string(),
        };
        println!(
            "{:<8} {:<10} {:<10} {:>8} {:>9} {:>8} {:>6} {:>11.0} {:>9.1} {:>9.1} {:>9.1}  {}; root {}",
            backend.name(),
            ran_on(report.signature_placement()),
            ran_on(report.merkle_placement()),
            verifier.threads(),
            report.valid_count(),
            report.invalid_count(),
            report.duplicate_count(),
            report.verdicts().len() as f64 / t.total.as_secs_f64(),
            t.total.as_secs_f64() * 1e3,
            t.signatures.as_secs_f64() * 1e3,
            t.merkle.as_secs_f64() * 1e3,
            if exact {
                "exactly the corrupted records"
            } else {
                "MISMATCH"
            },
            if report.root_matches() {
                "matches"
            } else {
                "does not match (payloads tampered after the root)"
            },
        );
        if let Some(fault) = report.gpu_fault() {
            println!("         (GPU failed: {fault}; the CPU engine redid that part, same result)");
        }
        last_report = Some(report);
    }
    if roots.windows(2).any(|w| w[0] != w[1]) {
        println!("MISMATCH: the backends computed different roots");
        all_right = false;
    }

    if let Some(report) = last_report {
        let bad = report.bad_records();
        if !bad.is_empty() {
            println!("records that failed ({} of them; the first 10):", bad.len());
            for &i in bad.iter().take(10) {
                let how = generated
                    .corrupted
                    .iter()
                    .find(|&&(r, _)| r == i)
                    .map_or("?", |&(_, how)| how.name());
                let verdict = match report.verdicts()[i] {
                    RecordVerdict::Invalid(reason) => format!("invalid: {}", reason.as_str()),
                    RecordVerdict::Duplicate { first } => format!("duplicate of record {first}"),
                    other => format!("{other:?}"),
                };
                println!("  record {i:>7}: {verdict:<45} (injected: {how})");
            }
        }
    }
    Ok(all_right)
}
