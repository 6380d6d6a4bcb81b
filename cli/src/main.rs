//! The `blockverify` command-line tool. See `blockverify --help`.
//!
//! Unsafe code is denied here and forbidden in every command (`cli`); the one exception is
//! the environment change in [`gpu_env`], made before any thread starts.
#![deny(unsafe_code)]

mod cli;
mod gpu_env;

use std::path::PathBuf;
use std::process::ExitCode;

use blockverify::{Backend, Policy};
use clap::{Args, CommandFactory, Parser, Subcommand};

/// Clears blocks of signed ledger records: Ed25519 and SM2 signatures with exact per-item
/// verdicts, and Merkle roots.
#[derive(Parser, Debug)]
#[command(name = "blockverify", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify signatures read as JSON Lines: Ed25519 (the default) or SM2 (--alg sm2).
    ///
    /// Ed25519 lines: {"pk":"<64 hex>","sig":"<128 hex>","msg":"<hex>"}.
    ///
    /// SM2 lines: {"pk":"<hex>","sig":"<128 hex: r||s>","msg":"<hex>"}, or "sig_der":"<hex
    /// DER>" in place of "sig", and an optional "id":"<hex>" (the signer's user ID; absent: the
    /// default ID 1234567812345678; "": the empty ID). The key is x||y (64 bytes), 04||x||y
    /// (65) or 02/03||x (33). What the library refuses (a key of another length or off the
    /// curve, a DER signature that is not strict DER, an ID over 8191 bytes) is a verdict with
    /// its reason, not a malformed line.
    ///
    /// Writes one JSON line per input line, in order: {"index":N,"valid":true} or
    /// {"index":N,"valid":false,"reason":"..."}. A line that is not valid JSON, has an unknown
    /// or missing field, bad hex or a wrong length (or, for SM2, neither or both of "sig" and
    /// "sig_der") is reported as {"index":N,"valid":false,"reason":"malformed: ..."} and the
    /// rest continue. Input is streamed in windows, so memory does not grow with the file.
    /// Exit status: 0 all valid, 1 any invalid or malformed, 2 usage or I/O error.
    Sigs(SigsArgs),
    /// Merkle roots and proofs (RFC 9162, Bitcoin) over hex leaves, one per line.
    ///
    /// root: print the root; prove / consistency: print an inclusion / consistency proof as
    /// JSON; verify-inclusion / verify-consistency: check such a proof.
    Merkle {
        #[command(subcommand)]
        command: cli::merkle::Command,
    },
    /// Generate a block (or a chain of blocks) of signed ledger traffic in the reference
    /// format: invoices, certificates and evidence deposits from Zipf-distributed issuers,
    /// signed with Ed25519 (format version 1) or SM2 (--alg sm2, version 2: each record's
    /// issuer signs the SM3 hash of the record's signed bytes with the default user ID, as
    /// FISCO BCOS signs transaction hashes), with chosen corruptions. Writes FILE (one block)
    /// or FILE.0, FILE.1, ... (--blocks N); says on stderr which records were corrupted and
    /// how.
    Gen(GenArgs),
    /// Verify block files: every signature (under the algorithm and policy each block
    /// declares), the Merkle root, duplicate
    /// records, and (for several files, in chain order) each block's link to the one before.
    /// Blocks are verified pipelined (the next one parsed while this one is verified).
    ///
    /// Prints a line per block and a line per bad record, or JSON Lines with --json.
    /// Exit status: 0 all valid and linked, 1 any invalid record, root or link, 2 a
    /// malformed block or an I/O or usage error.
    Verify(VerifyArgs),
    /// Measure throughput beside peer crates on the same data, in one run.
    Bench(BenchArgs),
    /// Generate two blocks of ledger traffic in memory — Ed25519 records under an RFC 9162
    /// tree, and a guomi block (SM2 records under FISCO BCOS's SM3 tree) — verify each on
    /// every available backend, print a table and the records that failed.
    Demo(DemoArgs),
    /// Show CPU features, the curve25519 backend compiled in, and the backends available.
    Info,
}

#[derive(Args, Debug)]
struct SigsArgs {
    /// Signature algorithm of the lines.
    #[arg(long, value_enum, default_value_t = SigAlg::Ed25519)]
    alg: SigAlg,
    /// Ed25519 validity rules: zip215 (the default) or strict (= ed25519-dalek
    /// verify_strict). Ed25519 only: with --alg sm2 it is a usage error.
    #[arg(long)]
    policy: Option<Policy>,
    /// Where to verify: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=blockverify::MAX_THREADS as u64))]
    threads: u64,
    /// Lines verified together; bounds memory.
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    window: u64,
    /// Longest accepted input line in bytes; longer lines are reported malformed.
    #[arg(long, default_value_t = 16 << 20, value_parser = clap::value_parser!(u64).range(256..=1 << 30))]
    max_line_bytes: u64,
    /// Input file, or - for standard input (the default).
    #[arg(default_value = "-")]
    input: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SigAlg {
    /// Ed25519 (RFC 8032), under --policy.
    Ed25519,
    /// SM2 (GB/T 32918.2) on sm2p256v1, with SM3.
    Sm2,
}

/// The usage error for `--policy` with `--alg sm2`, as `subcommand`'s.
fn policy_with_sm2(subcommand: &str) -> clap::Error {
    let mut cli = Cli::command();
    cli.build();
    let command = cli
        .find_subcommand_mut(subcommand)
        .expect("a subcommand with --policy");
    command.error(
        clap::error::ErrorKind::ArgumentConflict,
        "--policy applies to --alg ed25519 only, not to --alg sm2",
    )
}

impl GenArgs {
    /// The blocks' signature algorithm; `--policy` with `--alg sm2` is a usage error.
    fn algorithm(&self) -> Result<blockverify::block::SigAlgorithm, clap::Error> {
        use blockverify::block::SigAlgorithm;
        match (self.alg, self.policy) {
            (SigAlg::Ed25519, policy) => Ok(SigAlgorithm::Ed25519(policy.unwrap_or_default())),
            (SigAlg::Sm2, None) => Ok(SigAlgorithm::Sm2),
            (SigAlg::Sm2, Some(_)) => Err(policy_with_sm2("gen")),
        }
    }
}

impl SigsArgs {
    /// The command's options; `--policy` with `--alg sm2` is a usage error.
    fn options(self) -> Result<cli::sigs::Options, clap::Error> {
        let alg = match (self.alg, self.policy) {
            (SigAlg::Ed25519, policy) => cli::sigs::Alg::Ed25519(policy.unwrap_or_default()),
            (SigAlg::Sm2, None) => cli::sigs::Alg::Sm2,
            (SigAlg::Sm2, Some(_)) => return Err(policy_with_sm2("sigs")),
        };
        Ok(cli::sigs::Options {
            alg,
            backend: self.backend,
            threads: self.threads as usize,
            window: self.window as usize,
            max_line_bytes: self.max_line_bytes as usize,
            input: self.input,
        })
    }
}

#[derive(Args, Debug)]
struct GenArgs {
    /// Records per block.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(0..=4_000_000))]
    records: u64,
    /// Distinct issuers (Zipf-distributed shares).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    issuers: u64,
    /// Fraction of records given a per-record corruption.
    #[arg(long, default_value_t = 0.0)]
    invalid_rate: f64,
    /// Corruptions to use, comma-separated: bad-signature, tampered-payload,
    /// duplicated-record, wrong-key (per record, at --invalid-rate), wrong-root,
    /// truncated-record (per block); or all, or none.
    #[arg(
        long,
        default_value = "bad-signature,tampered-payload,duplicated-record"
    )]
    corruptions: String,
    /// Pad payloads with spaces to at least this many bytes (0: natural sizes).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1 << 20))]
    payload_len: u64,
    /// Merkle scheme of the blocks: rfc9162, bitcoin, fisco-bcos, chainmaker-sm3 or
    /// chainmaker-sha256.
    #[arg(long, default_value = "rfc9162")]
    scheme: blockverify::merkle::Scheme,
    /// Signature algorithm of the records.
    #[arg(long, value_enum, default_value_t = SigAlg::Ed25519)]
    alg: SigAlg,
    /// Ed25519 validity rules of the blocks: zip215 (the default) or strict. Ed25519 only:
    /// with --alg sm2 it is a usage error.
    #[arg(long)]
    policy: Option<Policy>,
    /// Blocks in the chain (files FILE.0, FILE.1, ... when more than one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    blocks: u64,
    /// Seed: the same arguments give the same bytes.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// Where to verify signatures and compute Merkle roots: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=blockverify::MAX_THREADS as u64))]
    threads: u64,
    /// Print JSON Lines, one object per block.
    #[arg(long)]
    json: bool,
    /// Refuse block files larger than this (bytes).
    #[arg(long, default_value_t = 4 << 30)]
    max_block_bytes: u64,
    /// Refuse blocks declaring more records than this.
    #[arg(long, default_value_t = blockverify::block::DEFAULT_MAX_RECORDS)]
    max_records: u32,
    /// Refuse records whose payload is longer than this (bytes).
    #[arg(long, default_value_t = blockverify::block::DEFAULT_MAX_PAYLOAD)]
    max_payload: u32,
    /// Block files, in chain order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Workload: sigs (Ed25519 and SM2), sm2 (SM2 alone), merkle, blocks, or all of them in
    /// one run.
    #[arg(default_value = "all")]
    workload: cli::bench::Workload,
    /// Smaller batches and fewer repetitions (a smoke run, not a measurement).
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also measure throughput against batch size (signatures per engine, Merkle roots per
    /// backend) and draw it as an SVG chart in this file, for sizing hardware.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Worker threads for this crate and the parallel peers (0 = all cores).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=blockverify::MAX_THREADS as u64))]
    threads: u64,
    /// sigs, merkle: leave out the GPU rows.
    #[arg(long)]
    no_gpu: bool,
    /// sigs, merkle: the GPU adapter to use (part of its name; default the best one).
    #[arg(long)]
    gpu_adapter: Option<String>,
    /// merkle: log2 of the leaves of the GPU workloads (default 24 on a hardware GPU, 18 on
    /// a CPU emulation; 20 and 14 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u32).range(10..=26))]
    gpu_log2_leaves: Option<u32>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Records of the Ed25519 block.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    records: u64,
    /// Records of the guomi (SM2, FISCO BCOS) block; 0 leaves it out.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    guomi_records: u64,
    /// Number of issuers (Zipf-distributed shares).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    issuers: u64,
    /// Fraction of records corrupted after signing.
    #[arg(long, default_value_t = 0.001)]
    invalid_rate: f64,
    /// Seed for the generator.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
}

impl Command {
    /// Whether this command may open a GPU (create a GPU instance, list adapters): never with
    /// `--backend cpu`, nor `gen` or the `merkle` subcommands other than `root`. (`bench`
    /// always may: `--no-gpu` leaves out the GPU rows of `sigs` and `merkle` only.)
    fn may_open_gpu(&self) -> bool {
        match self {
            Command::Sigs(a) => a.backend != Backend::Cpu,
            Command::Verify(a) => a.backend != Backend::Cpu,
            Command::Merkle { command } => command.may_open_gpu(),
            Command::Bench(_) | Command::Demo(_) | Command::Info => true,
            Command::Gen(_) => false,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any command starts a thread (see gpu_env); kept until the process ends.
    let _runtime_dir = cli
        .command
        .may_open_gpu()
        .then(gpu_env::ensure_runtime_dir)
        .flatten();
    let result = match cli.command {
        Command::Sigs(a) => match a.options() {
            Ok(options) => cli::sigs::run(&options),
            // Printed here rather than by `exit()`, so that `_runtime_dir` is still removed.
            Err(usage) => {
                let _ = usage.print();
                Ok(ExitCode::from(2))
            }
        },
        Command::Merkle { command } => cli::merkle::run(command),
        Command::Gen(a) => match (
            a.algorithm(),
            cli::blocks::parse_corruptions(&a.corruptions),
        ) {
            // Printed here rather than by `exit()`, so that `_runtime_dir` is still removed.
            (Err(usage), _) => {
                let _ = usage.print();
                Ok(ExitCode::from(2))
            }
            (_, Err(e)) => Err(e.into()),
            (Ok(algorithm), Ok(corruptions)) => cli::blocks::gen_blocks(&cli::blocks::GenOptions {
                records: a.records as usize,
                issuers: a.issuers as usize,
                invalid_rate: a.invalid_rate,
                corruptions,
                payload_len: a.payload_len as usize,
                scheme: a.scheme,
                algorithm,
                blocks: a.blocks as usize,
                seed: a.seed,
                output: a.output,
            }),
        },
        Command::Verify(a) => cli::blocks::verify_blocks(&cli::blocks::VerifyOptions {
            max_block_bytes: a.max_block_bytes,
            limits: blockverify::block::Limits {
                max_records: a.max_records,
                max_payload: a.max_payload,
            },
            files: a.files,
            backend: a.backend,
            threads: a.threads as usize,
            json: a.json,
        }),
        Command::Bench(a) => cli::bench::run(&cli::bench::Options {
            plot: a.plot,
            workload: a.workload,
            quick: a.quick,
            json: a.json,
            threads: a.threads as usize,
            gpu: cli::bench::merkle_bench::GpuChoice {
                skip: a.no_gpu,
                adapter: a.gpu_adapter,
                log2_leaves: a.gpu_log2_leaves,
            },
        }),
        Command::Demo(a) => cli::demo::run(&cli::demo::Options {
            records: a.records as usize,
            guomi_records: a.guomi_records as usize,
            issuers: a.issuers as usize,
            invalid_rate: a.invalid_rate,
            seed: a.seed,
        }),
        Command::Info => cli::info::run(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("blockverify: {e}");
            ExitCode::from(2)
        }
    }
}
