//! `bench blocks`: clearing whole blocks (parse, signatures, Merkle root, duplicates) beside
//! the signature engine alone on the same records, in one run.
#![forbid(unsafe_code)]

use blockverify::block::BlockView;
use blockverify::{Backend, Policy, SigItem, Verifier};
use blockverify_testkit::block::BlockSpec;

use super::progress::note;
use super::{CliError, Row, median_time};

/// Measures block clearance for a block of `records` records (256-byte payloads, 64
/// issuers), on the CPU and, when there is one, with the GPU computing the root.
pub fn run(quick: bool, threads: usize) -> Result<Vec<Row>, CliError> {
    let records = if quick { 10_000 } else { 100_000 };
    let reps = if quick { 3 } else { 7 };
    let generated = blockverify_testkit::generate_block(&BlockSpec {
        records,
        issuers: 64,
        payload_len: 256,
        ..BlockSpec::default()
    });
    let bytes = &generated.bytes;
    let scenario = format!(
        "block, {records} records x >=256 B, 64 issuers ({:.1} MB)",
        bytes.len() as f64 / 1e6
    );
    note!("bench: {scenario} ({threads} threads)");
    let cpu = Verifier::builder()
        .policy(Policy::Zip215)
        .backend(Backend::Cpu)
        .threads(threads)
        .build()?;
    let view = BlockView::parse(bytes)?;
    let items: Vec<SigItem<'_>> = view.records().iter().filter_map(|r| r.sig_item()).collect();
    // Everything measured must agree before it is timed.
    let report = cpu.verify_block_bytes(bytes)?;
    if !report.is_valid() || !cpu.verify_signatures(&items).all_valid() {
        return Err(format!("{scenario}: the generated block did not verify").into());
    }

    let mut rows = Vec::new();
    let mut push = |engine: String, median_s: f64| {
        note!(
            "  {engine:<60} {:>10.0} records/s",
            records as f64 / median_s
        );
        rows.push(Row {
            scenario: scenario.clone(),
            engine,
            items: records,
            median_s,
            per_s: records as f64 / median_s,
            ratio: None,
        });
    };
    let t = median_time(reps, || {
        std::hint::black_box(cpu.verify_signatures(&items));
    });
    push(
        format!("signature engine alone, same records ({threads} thr)"),
        t,
    );
    let t = median_time(reps, || {
        std::hint::black_box(cpu.verify_block(&view).ok());
    });
    push(
        format!("verify_block: sigs + root + duplicates ({threads} thr)"),
        t,
    );
    let t = median_time(reps, || {
        std::hint::black_box(cpu.verify_block_bytes(bytes).ok());
    });
    push(
        format!("verify_block_bytes: parse + the above ({threads} thr)"),
        t,
    );
    match Verifier::builder()
        .policy(Policy::Zip215)
        .backend(Backend::Gpu)
        .threads(threads)
        .build()
    {
        Ok(gpu) => {
            let on_gpu = gpu.verify_block_bytes(bytes)?;
            if on_gpu.computed_root() != report.computed_root() {
                return Err(format!("{scenario}: GPU and CPU roots differ").into());
            }
            let name = gpu
                .gpu_adapter()
                .map_or_else(String::new, |a| a.name.clone());
            let t = median_time(reps, || {
                std::hint::black_box(gpu.verify_block_bytes(bytes).ok());
            });
            push(format!("verify_block_bytes, root on GPU ({name})"), t);
        }
        Err(e) => note!("  (no GPU row: {e})"),
    }
    let reference = rows[0].per_s;
    for r in &mut rows {
        r.ratio = Some(r.per_s / reference);
    }
    Ok(rows)
}
