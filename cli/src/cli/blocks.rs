//! `blockverify gen` and `blockverify verify`: blocks in the reference format, on disk.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use blockverify::block::{
    self, BlockError, BlockReport, ChainReport, Header, RecordVerdict, SigAlgorithm,
};
use blockverify::merkle::Scheme;
use blockverify::{Backend, Placement, Verifier};
use blockverify_testkit::block::{BlockSpec, Corruption};
use serde::Serialize;

use super::CliError;

/// `gen` options.
pub struct GenOptions {
    pub records: usize,
    pub issuers: usize,
    pub invalid_rate: f64,
    pub corruptions: Vec<Corruption>,
    pub payload_len: usize,
    pub scheme: Scheme,
    pub algorithm: SigAlgorithm,
    pub blocks: usize,
    pub seed: u64,
    pub output: PathBuf,
}

/// Where block `i` of `blocks` goes: `FILE` for one block, `FILE.0`, `FILE.1`, ... for a chain.
fn block_path(output: &Path, i: usize, blocks: usize) -> PathBuf {
    if blocks == 1 {
        output.to_path_buf()
    } else {
        let mut name = output.as_os_str().to_owned();
        name.push(format!(".{i}"));
        PathBuf::from(name)
    }
}

/// Parses a comma-separated list of corruption kinds (`bad-signature,wrong-root`, `all`,
/// `none`).
pub fn parse_corruptions(list: &str) -> Result<Vec<Corruption>, String> {
    match list {
        "all" => return Ok(Corruption::ALL.to_vec()),
        "none" | "" => return Ok(Vec::new()),
        _ => {}
    }
    list.split(',')
        .map(|name| {
            Corruption::ALL
                .into_iter()
                .find(|c| c.name() == name.trim())
                .ok_or_else(|| {
                    format!(
                        "unknown corruption {name:?} (expected {}, all or none)",
                        Corruption::ALL.map(Corruption::name).join(", ")
                    )
                })
        })
        .collect()
}

pub fn gen_blocks(opts: &GenOptions) -> Result<ExitCode, CliError> {
    if !(0.0..=1.0).contains(&opts.invalid_rate) {
        return Err("--invalid-rate must be between 0 and 1".into());
    }
    let (per_record, per_block): (Vec<Corruption>, Vec<Corruption>) = opts
        .corruptions
        .iter()
        .partition(|c| Corruption::PER_RECORD.contains(c));
    let mut prev_hash = [0u8; 32];
    for i in 0..opts.blocks {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            records: opts.records,
            issuers: opts.issuers,
            payload_len: opts.payload_len,
            invalid_rate: opts.invalid_rate,
            corruptions: per_record.clone(),
            block_corruptions: per_block.clone(),
            scheme: opts.scheme,
            algorithm: opts.algorithm,
            height: i as u64,
            prev_hash,
            timestamp: 1_795_000_000 + 600 * i as u64,
            seed: opts.seed.wrapping_add(i as u64),
        });
        prev_hash = generated.header.hash();
        let path = block_path(&opts.output, i, opts.blocks);
        std::fs::write(&path, &generated.bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let corrupted: Vec<String> = generated
            .corrupted
            .iter()
            .map(|(r, how)| format!("{r}:{}", how.name()))
            .collect();
        eprintln!(
            "wrote {}: height {}, {} records ({}, {}), {} bytes, hash {}; corrupted records: {}{}",
            path.display(),
            i,
            opts.records,
            opts.algorithm.name(),
            opts.scheme,
            generated.bytes.len(),
            hex::encode(generated.header.hash()),
            if corrupted.is_empty() {
                "none".to_string()
            } else {
                corrupted.join(" ")
            },
            if per_block.is_empty() {
                String::new()
            } else {
                format!(
                    "; block-level: {}",
                    per_block
                        .iter()
                        .map(|c| c.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `verify` options.
pub struct VerifyOptions {
    pub max_block_bytes: u64,
    pub limits: block::Limits,
    pub files: Vec<PathBuf>,
    pub backend: Backend,
    pub threads: usize,
    pub json: bool,
}

#[derive(Serialize)]
struct BadRecord {
    index: usize,
    verdict: String,
}

#[derive(Serialize)]
struct BlockOut {
    file: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u64>,
    /// `ed25519` or `sm2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    algorithm: Option<&'static str>,
    /// The Merkle scheme, as `gen --scheme` spells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    scheme: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_matches: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicates: Option<usize>,
    bad_records: Vec<BadRecord>,
    link_ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature_backend: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merkle_backend: Option<&'static str>,
}

fn verdict_text(v: RecordVerdict) -> String {
    match v {
        RecordVerdict::Valid => "valid".into(),
        RecordVerdict::Invalid(reason) => format!("invalid: {}", reason.as_str()),
        RecordVerdict::Duplicate { first } => format!("duplicate of record {first}"),
        _ => format!("{v:?}"),
    }
}

fn block_out(file: &Path, result: &Result<BlockReport, BlockError>, link_ok: bool) -> BlockOut {
    let file = file.display().to_string();
    match result {
        Err(e) => BlockOut {
            file,
            ok: false,
            error: Some(e.to_string()),
            height: None,
            algorithm: None,
            scheme: None,
            hash: None,
            root_matches: None,
            records: None,
            valid: None,
            invalid: None,
            duplicates: None,
            bad_records: Vec::new(),
            link_ok,
            seconds: None,
            signature_backend: None,
            merkle_backend: None,
        },
        Ok(r) => BlockOut {
            file,
            ok: r.is_valid() && link_ok,
            error: None,
            height: Some(r.header().height),
            algorithm: Some(r.header().algorithm.name()),
            scheme: Some(r.header().scheme.name()),
            hash: Some(hex::encode(r.block_hash())),
            root_matches: Some(r.root_matches()),
            records: Some(r.verdicts().len()),
            valid: Some(r.valid_count()),
            invalid: Some(r.invalid_count()),
            duplicates: Some(r.duplicate_count()),
            bad_records: r
                .bad_records()
                .into_iter()
                .map(|index| BadRecord {
                    index,
                    verdict: verdict_text(r.verdicts()[index]),
                })
                .collect(),
            link_ok,
            seconds: Some(r.timings().total.as_secs_f64()),
            signature_backend: Some(placement_name(r.signature_placement())),
            merkle_backend: Some(placement_name(r.merkle_placement())),
        },
    }
}

/// Reads a block file, refusing one larger than `max` bytes before reading it.
fn read_block(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let too_big = || {
        format!(
            "{} is larger than --max-block-bytes ({max} bytes)",
            path.display()
        )
    };
    if file.metadata().is_ok_and(|m| m.len() > max) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

pub fn verify_blocks(opts: &VerifyOptions) -> Result<ExitCode, CliError> {
    if opts.files.is_empty() {
        return Err("no block files given".into());
    }
    let blocks: Vec<Vec<u8>> = opts
        .files
        .iter()
        .map(|f| read_block(f, opts.max_block_bytes))
        .collect::<Result<_, _>>()?;
    // `verify_block` checks each block under the algorithm and policy the block declares, so
    // the verifier's default policy is only a default: the first readable Ed25519 header's.
    let policy = blocks
        .iter()
        .find_map(|b| Header::parse(b).ok().and_then(|h| h.algorithm.policy()))
        .unwrap_or_default();
    let verifier = Verifier::builder()
        .policy(policy)
        .backend(opts.backend)
        .threads(opts.threads)
        .build()?;
    let slices: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();
    let chain: ChainReport = verifier.verify_chain_with(&slices, opts.limits);
    let outs: Vec<BlockOut> = opts
        .files
        .iter()
        .zip(chain.blocks())
        .enumerate()
        .map(|(i, (f, r))| block_out(f, r, !chain.broken_links().contains(&i)))
        .collect();

    let mut out = std::io::stdout().lock();
    if opts.json {
        for o in &outs {
            writeln!(out, "{}", serde_json::to_string(o)?)?;
        }
    } else {
        for o in &outs {
            match &o.error {
                Some(e) => writeln!(out, "{}: MALFORMED: {e}", o.file)?,
                None => {
                    writeln!(
                        out,
                        "{}: {} height {} ({}, {}) hash {}: root {}, {} records: {} valid, {} invalid, {} duplicate; {:.3} s (merkle on {}){}",
                        o.file,
                        if o.ok { "VALID" } else { "INVALID" },
                        o.height.unwrap_or(0),
                        o.algorithm.unwrap_or("-"),
                        o.scheme.unwrap_or("-"),
                        o.hash.as_deref().unwrap_or(""),
                        if o.root_matches == Some(true) {
                            "matches"
                        } else {
                            "DOES NOT MATCH"
                        },
                        o.records.unwrap_or(0),
                        o.valid.unwrap_or(0),
                        o.invalid.unwrap_or(0),
                        o.duplicates.unwrap_or(0),
                        o.seconds.unwrap_or(0.0),
                        o.merkle_backend.unwrap_or("-"),
                        if o.link_ok {
                            ""
                        } else {
                            "; does NOT link to the previous block"
                        }
                    )?;
                    for b in &o.bad_records {
                        writeln!(out, "  record {}: {}", b.index, b.verdict)?;
                    }
                }
            }
        }
    }
    out.flush()?;
    let malformed = chain.blocks().iter().any(Result::is_err);
    Ok(if malformed {
        ExitCode::from(2)
    } else if chain.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A placement as the `verify` output has always named it: `cpu`, `gpu`, or `auto` for a
/// batch split between the two (the output format predates `Placement`).
fn placement_name(placement: Placement) -> &'static str {
    match placement {
        Placement::Split => "auto",
        other => other.name(),
    }
}
