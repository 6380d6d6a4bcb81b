//! `blockverify merkle`: roots, inclusion and consistency proofs, and proof checks.
//!
//! Leaf files hold one leaf per line, in hex: an empty line is an empty leaf, the final
//! newline ends the last leaf rather than starting another, and a `\r` before a `\n` is
//! dropped. The whole input is read in one go and decoded into one buffer (no allocation per
//! leaf), so 2^20-line files are cheap.
//!
//! Bitcoin hashes (txids, roots, proof entries) are read and printed in display order, the
//! byte-reversed form block explorers show; they are reversed to the internal order the
//! tree is built in and back. Every other scheme's hashes are printed as they are (FISCO BCOS
//! and ChainMaker print hashes in their natural byte order).
//!
//! FISCO BCOS inclusion proofs are printed and read in FISCO's own layout (its RPC's
//! `txProof`: 32-byte elements, each group a count element — a 4-byte big-endian count then
//! 28 zero bytes — followed by that many hashes); see `merkle::verify_fisco_inclusion`.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use blockverify::merkle::{self, DuplicatePair, MerkleTree, ProofError, Scheme};
use blockverify::{Backend, Verifier};
use clap::{ArgGroup, Args, Subcommand};
use serde::{Deserialize, Serialize};

use super::CliError;

/// The `merkle` subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the root of the leaves read one hex leaf per line.
    ///
    /// An empty line is an empty leaf; the final newline ends the last leaf. For every scheme
    /// but rfc9162 each line is a 32-byte hash (64 hex digits); bitcoin txids and roots are in
    /// display order (as block explorers print them), the others in natural byte order. Exit
    /// status: 0 root printed; 1 the tree has a CVE-2012-2459 duplicate pair (bitcoin,
    /// chainmaker: the root is still printed, with a warning on stderr); 2 usage, input or I/O
    /// error (including no leaves for chainmaker, whose empty trees have no root).
    Root(RootArgs),
    /// Print leaf INDEX's inclusion proof as one JSON line:
    /// {"index":I,"size":N,"root":"..","leaf_hash":"..","path":[".."]}.
    ///
    /// The path runs from the leaf's sibling upward. Bitcoin hashes are in display order.
    /// For fisco-bcos the proof is in FISCO's own layout instead of "path":
    /// "proof":[".."], count elements and hashes as FISCO's `generateMerkleProof` writes them.
    /// Exit status: 0 printed; 1 the tree has a CVE-2012-2459 duplicate pair (proof still
    /// printed, with a warning on stderr); 2 usage, input or I/O error.
    Prove(ProveArgs),
    /// Print the proof that the first OLD leaves are a prefix of the whole list, as one JSON
    /// line: {"old":M,"new":N,"old_root":"..","new_root":"..","proof":[".."]}.
    ///
    /// RFC 9162 only (bitcoin trees have no consistency proofs). Exit status: 0 printed;
    /// 2 usage, input or I/O error.
    Consistency(ConsistencyArgs),
    /// Check an inclusion proof (the JSON `prove` prints) for a leaf.
    ///
    /// For fisco-bcos the JSON carries "proof" in FISCO's layout (a count element may also be
    /// given as its 8 hex digits) and the tree's "size"; "index", when present, must be where
    /// the proof places the leaf. Prints `valid` (exit 0) or `invalid: <reason>` (exit 1).
    /// Malformed proof JSON, hex or FISCO layout: message on stderr, exit 2.
    VerifyInclusion(VerifyInclusionArgs),
    /// Check a consistency proof (the JSON `consistency` prints).
    ///
    /// Prints `valid` (exit 0) or `invalid: <reason>` (exit 1). Malformed proof JSON or
    /// hex: message on stderr, exit 2.
    VerifyConsistency(VerifyConsistencyArgs),
}

#[derive(Args, Debug)]
pub struct RootArgs {
    /// Tree construction: rfc9162 (RFC 9162 / RFC 6962), bitcoin, fisco-bcos, chainmaker-sm3
    /// or chainmaker-sha256.
    #[arg(long)]
    scheme: Scheme,
    /// Where to compute: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=blockverify::MAX_THREADS as u64))]
    threads: u64,
    /// Leaf file (one hex leaf per line), or - for standard input (the default).
    #[arg(default_value = "-")]
    input: PathBuf,
}

#[derive(Args, Debug)]
pub struct ProveArgs {
    /// Tree construction: rfc9162, bitcoin, fisco-bcos, chainmaker-sm3 or chainmaker-sha256.
    #[arg(long)]
    scheme: Scheme,
    /// The leaf to prove, 0-based.
    #[arg(long)]
    index: u64,
    /// Leaf file (one hex leaf per line), or - for standard input (the default).
    #[arg(default_value = "-")]
    input: PathBuf,
}

#[derive(Args, Debug)]
pub struct ConsistencyArgs {
    /// Tree construction: rfc9162.
    #[arg(long)]
    scheme: Scheme,
    /// The older tree size: the proof shows the first OLD leaves are a prefix.
    #[arg(long)]
    old: u64,
    /// Leaf file (one hex leaf per line), or - for standard input (the default).
    #[arg(default_value = "-")]
    input: PathBuf,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("leaf_given").required(true).args(["leaf", "leaf_hash"])))]
pub struct VerifyInclusionArgs {
    /// Tree construction: rfc9162, bitcoin, fisco-bcos, chainmaker-sm3 or chainmaker-sha256.
    #[arg(long)]
    scheme: Scheme,
    /// The leaf data in hex, as in the leaf file (a txid in display order for bitcoin).
    #[arg(long)]
    leaf: Option<String>,
    /// The leaf hash in hex instead of the leaf (display order for bitcoin).
    #[arg(long)]
    leaf_hash: Option<String>,
    /// Proof JSON file as printed by `prove`, or - for standard input (the default).
    #[arg(default_value = "-")]
    input: PathBuf,
}

#[derive(Args, Debug)]
pub struct VerifyConsistencyArgs {
    /// Tree construction: rfc9162.
    #[arg(long)]
    scheme: Scheme,
    /// Proof JSON file as printed by `consistency`, or - for standard input (the default).
    #[arg(default_value = "-")]
    input: PathBuf,
}

impl Command {
    /// Whether this command may open a GPU: `root` unless given `--backend cpu` (the other
    /// subcommands build trees on the CPU only).
    pub fn may_open_gpu(&self) -> bool {
        matches!(self, Command::Root(a) if a.backend != Backend::Cpu)
    }
}

pub fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Root(a) => root(&a),
        Command::Prove(a) => prove(&a),
        Command::Consistency(a) => consistency(&a),
        Command::VerifyInclusion(a) => verify_inclusion(&a),
        Command::VerifyConsistency(a) => verify_consistency(&a),
    }
}

fn root(a: &RootArgs) -> Result<ExitCode, CliError> {
    // Built first, so `--backend gpu` fails before any input is read.
    let verifier = Verifier::builder()
        .backend(a.backend)
        .threads(a.threads as usize)
        .build()?;
    let leaves = Leaves::parse(&read_input(&a.input)?, a.scheme)?;
    let report = verifier.merkle_root(a.scheme, &leaves.slices())?;
    print_line(&display_hex(a.scheme, &report.root()))?;
    Ok(warn_if_mutated(report.duplicate_pair()))
}

fn prove(a: &ProveArgs) -> Result<ExitCode, CliError> {
    let leaves = Leaves::parse(&read_input(&a.input)?, a.scheme)?;
    let tree = MerkleTree::build(a.scheme, &leaves.slices())?;
    let hexes = |hashes: Vec<[u8; 32]>| hashes.iter().map(|h| display_hex(a.scheme, h)).collect();
    let (path, proof) = if a.scheme == Scheme::FiscoBcos {
        (None, Some(hexes(tree.fisco_proof(a.index)?)))
    } else {
        (Some(hexes(tree.inclusion_proof(a.index)?)), None)
    };
    let leaf_hash = tree.leaf_hash(a.index).ok_or("leaf index out of range")?;
    let out = InclusionOut {
        index: a.index,
        size: tree.size(),
        root: display_hex(a.scheme, &tree.root()),
        leaf_hash: display_hex(a.scheme, &leaf_hash),
        path,
        proof,
    };
    print_line(&serde_json::to_string(&out)?)?;
    Ok(warn_if_mutated(tree.root_report().duplicate_pair()))
}

fn consistency(a: &ConsistencyArgs) -> Result<ExitCode, CliError> {
    require_rfc9162(a.scheme)?;
    let leaves = Leaves::parse(&read_input(&a.input)?, a.scheme)?;
    let slices = leaves.slices();
    let tree = MerkleTree::build(a.scheme, &slices)?;
    let proof = tree.consistency_proof(a.old)?;
    // consistency_proof refused old > size, so the prefix exists.
    let old_root = merkle::merkle_root(a.scheme, &slices[..a.old as usize])?.root();
    let out = ConsistencyOut {
        old: a.old,
        new: tree.size(),
        old_root: hex::encode(old_root),
        new_root: hex::encode(tree.root()),
        proof: proof.iter().map(hex::encode).collect(),
    };
    print_line(&serde_json::to_string(&out)?)?;
    Ok(ExitCode::SUCCESS)
}

fn verify_inclusion(a: &VerifyInclusionArgs) -> Result<ExitCode, CliError> {
    let scheme = a.scheme;
    let computed = match (&a.leaf, &a.leaf_hash) {
        (Some(leaf), None) => match scheme {
            Scheme::Rfc9162 => {
                let data = hex::decode(leaf).map_err(|e| format!("--leaf: bad hex: {e}"))?;
                scheme.leaf_hash(&data)?
            }
            // A Bitcoin leaf is its txid: the leaf hash itself, in display order.
            _ => parse_hash(scheme, "--leaf", leaf)?,
        },
        (None, Some(hash)) => parse_hash(scheme, "--leaf-hash", hash)?,
        _ => return Err("give exactly one of --leaf and --leaf-hash".into()),
    };
    let proof: InclusionIn = parse_json(&read_input(&a.input)?)?;
    let root = parse_hash(scheme, "root", &proof.root)?;
    let claimed = proof
        .leaf_hash
        .as_deref()
        .map(|h| parse_hash(scheme, "leaf_hash", h))
        .transpose()?;
    if claimed.is_some_and(|c| c != computed) {
        return verdict(Err("leaf_hash in the proof does not match the leaf".into()));
    }
    if scheme == Scheme::FiscoBcos {
        let elements = proof
            .proof
            .as_deref()
            .ok_or("proof: bad JSON: missing field `proof`")?;
        let elements = parse_fisco_elements(elements)?;
        return match merkle::verify_fisco_inclusion(&root, proof.size, &computed, &elements) {
            Err(e @ ProofError::Malformed { .. }) => Err(format!("proof: {e}").into()),
            Err(e) => verdict(Err(e.to_string())),
            Ok(index) if proof.index.is_some_and(|claimed| claimed != index) => verdict(Err(
                format!("the proof places the leaf at index {index}, not the index given"),
            )),
            Ok(_) => verdict(Ok(())),
        };
    }
    let path = proof
        .path
        .as_deref()
        .ok_or("proof: bad JSON: missing field `path`")?;
    let path = parse_hashes(scheme, "path", path)?;
    let index = proof
        .index
        .ok_or("proof: bad JSON: missing field `index`")?;
    verdict(
        merkle::verify_inclusion(scheme, &root, index, proof.size, &computed, &path)
            .map_err(|e: ProofError| e.to_string()),
    )
}

/// A FISCO BCOS proof's elements: 64 hex digits each, or 8 for a count element (the 4-byte
/// count alone, as FISCO writes it into a `bytes` element; widened to the 32-byte form).
fn parse_fisco_elements(texts: &[String]) -> Result<Vec<[u8; 32]>, String> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if t.len() == 8 {
                let mut out = [0u8; 32];
                hex::decode_to_slice(t, &mut out[..4])
                    .map_err(|e| format!("proof[{i}]: bad hex: {e}"))?;
                Ok(out)
            } else {
                parse_hash(Scheme::FiscoBcos, &format!("proof[{i}]"), t)
            }
        })
        .collect()
}

fn verify_consistency(a: &VerifyConsistencyArgs) -> Result<ExitCode, CliError> {
    require_rfc9162(a.scheme)?;
    let proof: ConsistencyIn = parse_json(&read_input(&a.input)?)?;
    let old_root = parse_hash(a.scheme, "old_root", &proof.old_root)?;
    let new_root = parse_hash(a.scheme, "new_root", &proof.new_root)?;
    let hashes = parse_hashes(a.scheme, "proof", &proof.proof)?;
    verdict(
        merkle::verify_consistency(
            a.scheme, proof.old, proof.new, &old_root, &new_root, &hashes,
        )
        .map_err(|e| e.to_string()),
    )
}

/// What `prove` prints (keys in this order): `path` (an audit path), or `proof` (FISCO
/// BCOS's layout).
#[derive(Serialize)]
struct InclusionOut {
    index: u64,
    size: u64,
    root: String,
    leaf_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proof: Option<Vec<String>>,
}

/// What `consistency` prints (keys in this order).
#[derive(Serialize)]
struct ConsistencyOut {
    old: u64,
    new: u64,
    old_root: String,
    new_root: String,
    proof: Vec<String>,
}

/// What `verify-inclusion` reads: `prove`'s output. Unknown fields are ignored; `leaf_hash`
/// is optional (checked against the leaf when present); `path` and `index` are required for
/// every scheme but FISCO BCOS, which needs `proof` (and checks `index` when given).
#[derive(Deserialize)]
struct InclusionIn {
    index: Option<u64>,
    size: u64,
    root: String,
    leaf_hash: Option<String>,
    path: Option<Vec<String>>,
    proof: Option<Vec<String>>,
}

/// What `verify-consistency` reads: `consistency`'s output. Unknown fields are ignored.
#[derive(Deserialize)]
struct ConsistencyIn {
    old: u64,
    new: u64,
    old_root: String,
    new_root: String,
    proof: Vec<String>,
}

/// Leaves decoded from hex lines: one buffer, with each leaf's end offset.
pub struct Leaves {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Leaves {
    /// Decodes one hex leaf per line. Leaves of every scheme but RFC 9162 must be 32 bytes;
    /// Bitcoin's are reversed from display order to internal order. Errors name the 1-based
    /// line.
    pub fn parse(input: &[u8], scheme: Scheme) -> Result<Leaves, CliError> {
        let mut leaves = Leaves {
            data: Vec::with_capacity(input.len() / 2),
            ends: Vec::new(),
        };
        if input.is_empty() {
            return Ok(leaves);
        }
        let body = input.strip_suffix(b"\n").unwrap_or(input);
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            let number = i + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !scheme.hashes_leaves() && line.len() != 64 {
                let what = if scheme == Scheme::Bitcoin {
                    "a bitcoin txid"
                } else {
                    "a leaf of this scheme (a 32-byte hash)"
                };
                return Err(
                    format!("line {number}: {what} is 64 hex digits, got {}", line.len()).into(),
                );
            }
            if line.len() % 2 == 1 {
                return Err(format!(
                    "line {number}: bad hex: odd number of digits ({})",
                    line.len()
                )
                .into());
            }
            let start = leaves.data.len();
            leaves.data.resize(start + line.len() / 2, 0);
            hex::decode_to_slice(line, &mut leaves.data[start..])
                .map_err(|e| format!("line {number}: bad hex: {e}"))?;
            if scheme == Scheme::Bitcoin {
                leaves.data[start..].reverse();
            }
            leaves.ends.push(leaves.data.len());
        }
        Ok(leaves)
    }

    /// Each leaf as a slice of the buffer.
    pub fn slices(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let leaf = &self.data[start..end];
                start = end;
                leaf
            })
            .collect()
    }
}

/// The whole of `path`, or of standard input for `-`.
/// The most input a `merkle` command reads (leaves or a proof): 4 GiB, about 60 million
/// 32-byte leaves in hex. Larger input is refused with an error rather than read into memory.
const MAX_INPUT_BYTES: u64 = 4 << 30;

fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    let too_big = |what: &str| -> CliError {
        format!(
            "{what} is larger than the {} GiB input limit",
            MAX_INPUT_BYTES >> 30
        )
        .into()
    };
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        if buf.len() as u64 > MAX_INPUT_BYTES {
            return Err(too_big("standard input"));
        }
        Ok(buf)
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        if file.metadata().is_ok_and(|m| m.len() > MAX_INPUT_BYTES) {
            return Err(too_big(&path.display().to_string()));
        }
        let mut buf = Vec::new();
        file.take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if buf.len() as u64 > MAX_INPUT_BYTES {
            return Err(too_big(&path.display().to_string()));
        }
        Ok(buf)
    }
}

fn print_line(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Warns about a CVE-2012-2459 duplicate pair; exit status 1 if there is one.
fn warn_if_mutated(pair: Option<DuplicatePair>) -> ExitCode {
    match pair {
        None => ExitCode::SUCCESS,
        Some(d) => {
            eprintln!(
                "warning: CVE-2012-2459 duplicate pair at level {} index {}: another transaction list has the same root",
                d.level, d.index
            );
            ExitCode::from(1)
        }
    }
}

/// `valid` (exit 0) or `invalid: <reason>` (exit 1) on standard output.
fn verdict(result: Result<(), String>) -> Result<ExitCode, CliError> {
    match result {
        Ok(()) => {
            print_line("valid")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            print_line(&format!("invalid: {reason}"))?;
            Ok(ExitCode::from(1))
        }
    }
}

fn require_rfc9162(scheme: Scheme) -> Result<(), CliError> {
    if scheme == Scheme::Rfc9162 {
        Ok(())
    } else {
        Err(format!("{scheme} trees have no consistency proofs").into())
    }
}

/// The proof object: a JSON object (not an array standing in for one), with the fields `T`
/// needs; other fields are ignored.
fn parse_json<T: serde::de::DeserializeOwned>(input: &[u8]) -> Result<T, CliError> {
    let value: serde_json::Value =
        serde_json::from_slice(input).map_err(|e| format!("proof: bad JSON: {e}"))?;
    if !value.is_object() {
        return Err("proof: bad JSON: expected an object".into());
    }
    serde_json::from_value(value).map_err(|e| format!("proof: bad JSON: {e}").into())
}

/// A hash as printed: hex, byte-reversed (display order) for Bitcoin.
fn display_hex(scheme: Scheme, hash: &[u8; 32]) -> String {
    let mut bytes = *hash;
    if scheme == Scheme::Bitcoin {
        bytes.reverse();
    }
    hex::encode(bytes)
}

/// The inverse of [`display_hex`]: 64 hex digits, reversed for Bitcoin.
fn parse_hash(scheme: Scheme, field: &str, text: &str) -> Result<[u8; 32], String> {
    if text.len() != 64 {
        return Err(format!(
            "{field}: expected 64 hex digits, got {}",
            text.len()
        ));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|e| format!("{field}: bad hex: {e}"))?;
    if scheme == Scheme::Bitcoin {
        out.reverse();
    }
    Ok(out)
}

fn parse_hashes(scheme: Scheme, field: &str, texts: &[String]) -> Result<Vec<[u8; 32]>, String> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| parse_hash(scheme, &format!("{field}[{i}]"), t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens(input: &[u8]) -> Vec<usize> {
        let leaves = Leaves::parse(input, Scheme::Rfc9162).unwrap();
        leaves.slices().iter().map(|l| l.len()).collect()
    }

    #[test]
    fn lines_are_leaves_and_the_final_newline_ends_the_last() {
        assert_eq!(lens(b""), Vec::<usize>::new());
        assert_eq!(lens(b"\n"), vec![0]);
        assert_eq!(lens(b"\n\n"), vec![0, 0]);
        assert_eq!(lens(b"aa\nbb\n"), vec![1, 1]);
        assert_eq!(lens(b"aa\nbb"), vec![1, 1]);
        assert_eq!(lens(b"aa\r\n\r\nbbcc\r\n"), vec![1, 0, 2]);
        let leaves = Leaves::parse(b"0102\nff\n", Scheme::Rfc9162).unwrap();
        assert_eq!(leaves.slices(), vec![&[1u8, 2][..], &[0xff][..]]);
    }

    #[test]
    fn errors_name_the_line() {
        let err = |input: &[u8], scheme| {
            Leaves::parse(input, scheme)
                .err()
                .expect("an error")
                .to_string()
        };
        assert!(err(b"aa\nzz\n", Scheme::Rfc9162).starts_with("line 2: bad hex"));
        assert!(err(b"aa\nabc\n", Scheme::Rfc9162).starts_with("line 2: bad hex: odd"));
        assert!(err(b"\n", Scheme::Bitcoin).starts_with("line 1: a bitcoin txid is 64"));
        let txid = "11".repeat(32);
        assert!(
            err(format!("{txid}\n{txid}00\n").as_bytes(), Scheme::Bitcoin).starts_with("line 2:")
        );
    }

    #[test]
    fn bitcoin_hashes_are_reversed_both_ways() {
        let text = format!("{}01", "00".repeat(31));
        let internal = parse_hash(Scheme::Bitcoin, "x", &text).unwrap();
        assert_eq!(internal[0], 1);
        assert_eq!(display_hex(Scheme::Bitcoin, &internal), text);
        assert_eq!(
            display_hex(
                Scheme::Rfc9162,
                &parse_hash(Scheme::Rfc9162, "x", &text).unwrap()
            ),
            text
        );
        assert!(
            parse_hash(Scheme::Rfc9162, "root", "00")
                .unwrap_err()
                .starts_with("root: expected 64")
        );
    }
}
