//! `blockverify bench`: this crate beside its peers, on the same data, in one run.
//!
//! Every figure is a median over repetitions, and every ratio compares rows measured in this
//! same run on this same machine. Peers get every advantage they offer: keys pre-parsed
//! (decompressed) outside the timed region, and the same thread count via rayon.
//!
//! `bench merkle` times Merkle roots (RFC 9162 and Bitcoin) per SHA-256 path beside a naive
//! `sha2` loop, a rayon level-by-level `sha2` build and `rs_merkle`, and quotes single-thread
//! node rates against the SHA-NI throughput bound measured in the same run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use blockverify::workload::{Workload as Traffic, WorkloadSpec};
use blockverify::{Policy, SigItem, Verifier, verify_single};
use rayon::prelude::*;
use serde::Serialize;

use super::CliError;
use super::info::{cpu_model, curve_backend};

/// What to benchmark.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Workload {
    /// Ed25519 signature verification.
    Sigs,
    /// Merkle roots (RFC 9162, Bitcoin) and node hashing.
    Merkle,
}

pub struct Options {
    pub workload: Workload,
    pub quick: bool,
    pub json: Option<PathBuf>,
    pub threads: usize,
}

/// One measured row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The data set.
    pub scenario: String,
    /// Who did the work, and how.
    pub engine: String,
    /// Items per run.
    pub items: usize,
    /// Median wall time of one run, seconds.
    pub median_s: f64,
    /// Items per second at the median.
    pub per_s: f64,
    /// This row's speed over the reference row of its scenario (the best peer for valid
    /// batches; single-verifying each item for batches with invalid items).
    pub ratio: Option<f64>,
}

#[derive(Serialize)]
struct Report<'a> {
    tool: String,
    command: String,
    unix_time: u64,
    cpu: String,
    threads: usize,
    curve25519_backend: &'static str,
    rows: &'a [Row],
}

pub fn run(opts: &Options) -> Result<ExitCode, CliError> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let rows = match opts.workload {
        Workload::Sigs => bench_sigs(opts.quick, threads)?,
        Workload::Merkle => {
            merkle_bench::run(opts.quick, threads, opts.json.as_deref())?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    print_table(&rows);
    if let Some(path) = &opts.json {
        let report = Report {
            tool: tool_name(),
            command: command_line(),
            unix_time: unix_time(),
            cpu: cpu_model(),
            threads,
            curve25519_backend: curve_backend(),
            rows: &rows,
        };
        write_json(path, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn tool_name() -> String {
    format!("blockverify {}", env!("CARGO_PKG_VERSION"))
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn write_json(path: &std::path::Path, report: &impl Serialize) -> Result<(), CliError> {
    std::fs::write(path, serde_json::to_string_pretty(report)?)
        .map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

/// Times `f` `reps` times after one warm-up run; returns the median in seconds.
fn median_time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

struct Scenario {
    name: String,
    traffic: Traffic,
}

/// Runs the signature benchmark and returns its rows.
pub fn bench_sigs(quick: bool, threads: usize) -> Result<Vec<Row>, CliError> {
    let (n, reps) = if quick { (2048, 3) } else { (16_384, 7) };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut rows = Vec::new();
    let shapes = [("distinct keys", 0usize), ("64 issuers (Zipf)", 64)];
    for (shape, issuers) in shapes {
        for (label, invalid) in [
            ("all valid", 0.0),
            ("1% invalid", 0.01),
            ("100% invalid", 1.0),
        ] {
            let traffic = pool.install(|| {
                Traffic::generate(&WorkloadSpec {
                    items: n,
                    issuers,
                    message_len: 256,
                    invalid_fraction: invalid,
                    seed: 0xB10C,
                })
            });
            let scenario = Scenario {
                name: format!("{shape}, {label}"),
                traffic,
            };
            eprintln!("bench: {} ({n} items, {threads} threads)", scenario.name);
            let first = rows.len();
            bench_scenario(&scenario, invalid > 0.0, threads, reps, &pool, &mut rows)?;
            for r in &rows[first..] {
                eprintln!("  {:<48} {:>12.0}/s", r.engine, r.per_s);
            }
        }
    }
    Ok(rows)
}

fn bench_scenario(
    sc: &Scenario,
    has_invalid: bool,
    threads: usize,
    reps: usize,
    pool: &rayon::ThreadPool,
    rows: &mut Vec<Row>,
) -> Result<(), CliError> {
    let items = sc.traffic.items();
    let n = items.len();
    let mut push = |engine: String, median_s: f64| {
        rows.push(Row {
            scenario: sc.name.clone(),
            engine,
            items: n,
            median_s,
            per_s: n as f64 / median_s,
            ratio: None,
        })
    };

    // This crate. Each verifier is built once, as a node would; its verdicts are checked
    // against the corruptions the generator made, so a fast wrong answer cannot pass.
    for (engine, policy, cache) in [
        ("blockverify zip215 (key cache warm)", Policy::Zip215, true),
        ("blockverify zip215 (no key cache)", Policy::Zip215, false),
        ("blockverify strict", Policy::Strict, true),
    ] {
        // "Warm" sizes the cache to hold every key of the run with room to spare (its shards
        // fill unevenly); the peers' keys are likewise pre-parsed outside the timed region.
        let capacity = if cache { 2 * n } else { 0 };
        let verifier = Verifier::builder()
            .policy(policy)
            .threads(threads)
            .key_cache_size(capacity)
            .build()?;
        let report = verifier.verify_signatures(&items);
        if report.invalid_indices() != sc.traffic.corrupted {
            return Err(format!(
                "{engine} on '{}': verdicts differ from the generator's corruptions",
                sc.name
            )
            .into());
        }
        let t = median_time(reps, || {
            std::hint::black_box(verifier.verify_signatures(&items));
        });
        push(engine.to_string(), t);
    }

    let peers = Peers::new(&items);
    if has_invalid {
        let t = median_time(reps, || {
            pool.install(|| {
                let ok = items
                    .par_iter()
                    .filter(|i| verify_single(Policy::Zip215, i).is_valid())
                    .count();
                std::hint::black_box(ok);
            })
        });
        push(format!("single-verify each (reference, {threads} thr)"), t);
        let t = median_time(reps, || {
            pool.install(|| std::hint::black_box(peers.dalek_each_parallel()));
        });
        push(format!("ed25519-dalek verify each ({threads} thr)"), t);
    } else {
        let t = median_time(reps.min(3), || {
            std::hint::black_box(peers.dalek_each_serial());
        });
        push("ed25519-dalek verify (1 thr)".into(), t);
        let t = median_time(reps, || {
            pool.install(|| std::hint::black_box(peers.dalek_batch(threads)));
        });
        push(
            format!("ed25519-dalek verify_batch ({threads} thr, keys pre-parsed)"),
            t,
        );
        let t = median_time(reps, || {
            pool.install(|| std::hint::black_box(peers.zebra_batch(threads)));
        });
        push(format!("ed25519-zebra batch ({threads} thr)"), t);
        let t = median_time(reps, || {
            pool.install(|| std::hint::black_box(peers.ring_each()));
        });
        push(format!("ring verify each ({threads} thr)"), t);
    }
    Ok(())
}

/// The peer crates, with whatever they can pre-compute done outside the timed region.
struct Peers<'a> {
    items: &'a [SigItem<'a>],
    dalek_keys: Vec<Option<ed25519_dalek::VerifyingKey>>,
    dalek_sigs: Vec<ed25519_dalek::Signature>,
}

impl<'a> Peers<'a> {
    fn new(items: &'a [SigItem<'a>]) -> Self {
        Peers {
            items,
            dalek_keys: items
                .iter()
                .map(|i| ed25519_dalek::VerifyingKey::from_bytes(i.public_key).ok())
                .collect(),
            dalek_sigs: items
                .iter()
                .map(|i| ed25519_dalek::Signature::from_bytes(i.signature))
                .collect(),
        }
    }

    fn dalek_one(&self, i: usize) -> bool {
        use ed25519_dalek::Verifier as _;
        self.dalek_keys[i]
            .as_ref()
            .is_some_and(|k| k.verify(self.items[i].message, &self.dalek_sigs[i]).is_ok())
    }

    fn dalek_each_serial(&self) -> usize {
        (0..self.items.len()).filter(|&i| self.dalek_one(i)).count()
    }

    fn dalek_each_parallel(&self) -> usize {
        (0..self.items.len())
            .into_par_iter()
            .filter(|&i| self.dalek_one(i))
            .count()
    }

    fn chunk(&self, threads: usize) -> usize {
        self.items.len().div_ceil(threads.max(1)).max(1)
    }

    fn dalek_batch(&self, threads: usize) -> bool {
        let chunk = self.chunk(threads);
        let keys: Option<Vec<ed25519_dalek::VerifyingKey>> =
            self.dalek_keys.iter().copied().collect();
        let Some(keys) = keys else { return false };
        (0..self.items.len())
            .collect::<Vec<_>>()
            .par_chunks(chunk)
            .all(|idx| {
                let msgs: Vec<&[u8]> = idx.iter().map(|&i| self.items[i].message).collect();
                let lo = idx[0];
                let hi = lo + idx.len();
                ed25519_dalek::verify_batch(&msgs, &self.dalek_sigs[lo..hi], &keys[lo..hi]).is_ok()
            })
    }

    fn zebra_batch(&self, threads: usize) -> bool {
        self.items.par_chunks(self.chunk(threads)).all(|chunk| {
            let mut v = ed25519_zebra::batch::Verifier::new();
            for it in chunk {
                v.queue((
                    ed25519_zebra::VerificationKeyBytes::from(*it.public_key),
                    ed25519_zebra::Signature::from_bytes(it.signature),
                    it.message,
                ));
            }
            v.verify(rand::rng()).is_ok()
        })
    }

    fn ring_each(&self) -> usize {
        use ring::signature::{ED25519, UnparsedPublicKey};
        self.items
            .par_iter()
            .filter(|it| {
                UnparsedPublicKey::new(&ED25519, it.public_key)
                    .verify(it.message, it.signature)
                    .is_ok()
            })
            .count()
    }
}

/// Fills in ratios and prints the table.
fn print_table(rows: &[Row]) {
    let mut rows = rows.to_vec();
    let scenarios: Vec<String> = {
        let mut s: Vec<String> = rows.iter().map(|r| r.scenario.clone()).collect();
        s.dedup();
        s
    };
    for sc in &scenarios {
        let reference = rows
            .iter()
            .filter(|r| &r.scenario == sc && !r.engine.starts_with("blockverify"))
            .filter(|r| !r.engine.contains("(1 thr)"))
            .map(|r| r.per_s)
            .fold(0.0, f64::max);
        for r in rows.iter_mut().filter(|r| &r.scenario == sc) {
            r.ratio = (reference > 0.0).then(|| r.per_s / reference);
        }
    }
    println!(
        "{:<36} {:<48} {:>8} {:>12} {:>12} {:>8}",
        "scenario", "engine", "items", "median ms", "items/s", "ratio"
    );
    for r in &rows {
        println!(
            "{:<36} {:<48} {:>8} {:>12.2} {:>12.0} {:>8}",
            r.scenario,
            r.engine,
            r.items,
            r.median_s * 1e3,
            r.per_s,
            r.ratio.map_or("-".into(), |x| format!("{x:.2}x"))
        );
    }
    println!(
        "ratio: over the fastest multi-threaded peer (valid batches) or over the fastest single-verify-each row (batches with invalid items); medians."
    );
}

/// `bench merkle`: Merkle roots and node hashing, this crate per SHA-256 path beside `sha2`
/// and `rs_merkle`, with the SHA-NI bound measured in the same run.
mod merkle_bench {
    use std::path::Path;

    use blockverify::Verifier;
    use blockverify::merkle::sha256::{Platform, sha_ni_bound};
    use blockverify::merkle::{Scheme, hash_level, hash_level_into, merkle_root_with};
    use rayon::prelude::*;
    use serde::Serialize;
    use sha2::{Digest, Sha256};

    use super::{CliError, command_line, cpu_model, median_time, tool_name, unix_time, write_json};

    /// One measured row.
    #[derive(Debug, Clone, Serialize)]
    pub struct Row {
        /// The data set.
        pub workload: String,
        /// Who did the work, and how.
        pub engine: String,
        /// Threads the engine ran on.
        pub threads: usize,
        /// Leaves per run (children, for node hashing).
        pub leaves: usize,
        /// Internal nodes hashed per run: `leaves − 1` for a root, `children / 2` for one
        /// level of node hashing.
        pub nodes: usize,
        /// Median wall time of one run, seconds.
        pub median_s: f64,
        /// Internal nodes per second at the median.
        pub nodes_per_s: f64,
        /// `nodes_per_s / threads`.
        pub nodes_per_s_per_core: f64,
        /// Leaves (records) per second, for the record-hashing workload.
        pub leaves_per_s: Option<f64>,
        /// Record megabytes (10^6 bytes) per second, for the record-hashing workload.
        pub mb_per_s: Option<f64>,
        /// This row's speed over the rayon `sha2` build of the same workload.
        pub vs_rayon_sha2: Option<f64>,
        /// Single-thread rows: `nodes_per_s` over the SHA-NI node bound of the scheme.
        pub of_sha_ni_bound: Option<f64>,
        /// Whether the row's root (or level) was checked equal to the naive `sha2` one.
        pub checked: bool,
    }

    /// The SHA-NI compression throughput bound of one core, and what it allows per node.
    #[derive(Debug, Clone, Copy, Serialize)]
    struct Bound {
        compressions_per_s: f64,
        /// Interleaved streams (1–4) of the best measurement.
        streams: usize,
        /// Two compressions per RFC 9162 node (65-byte message).
        rfc9162_nodes_per_s: f64,
        /// Three compressions per Bitcoin node (64-byte message, then the 32-byte digest).
        bitcoin_nodes_per_s: f64,
    }

    impl Bound {
        fn nodes_per_s(&self, scheme: Scheme) -> f64 {
            if scheme == Scheme::Bitcoin {
                self.bitcoin_nodes_per_s
            } else {
                self.rfc9162_nodes_per_s
            }
        }
    }

    #[derive(Serialize)]
    struct Report<'a> {
        tool: String,
        command: String,
        unix_time: u64,
        cpu: String,
        threads: usize,
        sha256_platforms: Vec<&'static str>,
        sha256_detected: &'static str,
        sha_ni_bound: Option<Bound>,
        rows: &'a [Row],
    }

    /// Above this many leaves the portable path (the slow reference, not a contender) is left
    /// out to keep the run short; it is measured on the smaller workloads.
    const PORTABLE_MAX_LEAVES: usize = 1 << 16;

    /// What every workload shares.
    struct Ctx {
        threads: usize,
        reps: usize,
        pool: rayon::ThreadPool,
        verifier: Verifier,
        bound: Option<Bound>,
        platforms: Vec<Platform>,
    }

    pub fn run(quick: bool, threads: usize, json: Option<&Path>) -> Result<(), CliError> {
        let ctx = Ctx {
            threads,
            reps: if quick { 3 } else { 7 },
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?,
            verifier: Verifier::builder().threads(threads).build()?,
            bound: measure_bound(quick),
            platforms: Platform::available(),
        };
        let shift = if quick { 4 } else { 0 };
        let small = 1usize << (20 - shift);
        let records = 1usize << (16 - shift);

        let mut rows = Vec::new();
        let txids = pseudo_random_leaves::<32>(small, 1);
        roots(
            &ctx,
            &format!("rfc9162 root, 2^{} leaves x 32 B", 20 - shift),
            Scheme::Rfc9162,
            &txids,
            None,
            &mut rows,
        )?;
        let big: Vec<Vec<u8>> = pseudo_random_leaves::<512>(records, 2)
            .into_iter()
            .map(Vec::from)
            .collect();
        roots(
            &ctx,
            &format!("rfc9162 root, 2^{} records x 512 B", 16 - shift),
            Scheme::Rfc9162,
            &big,
            Some(512),
            &mut rows,
        )?;
        drop(big);
        roots(
            &ctx,
            &format!("bitcoin root, 2^{} txids", 20 - shift),
            Scheme::Bitcoin,
            &txids,
            None,
            &mut rows,
        )?;
        node_hashing(
            &ctx,
            &format!("rfc9162 node hashing, one level of 2^{} nodes", 20 - shift),
            &txids,
            &mut rows,
        )?;
        drop(txids);

        print_table(&ctx, &rows, small > PORTABLE_MAX_LEAVES);
        if let Some(path) = json {
            let report = Report {
                tool: tool_name(),
                command: command_line(),
                unix_time: unix_time(),
                cpu: cpu_model(),
                threads,
                sha256_platforms: ctx.platforms.iter().map(|p| p.name()).collect(),
                sha256_detected: Platform::detect().name(),
                sha_ni_bound: ctx.bound,
                rows: &rows,
            };
            write_json(path, &report)?;
        }
        Ok(())
    }

    /// The best of 1–4 interleaved SHA-NI streams (three tries each), on this thread.
    fn measure_bound(quick: bool) -> Option<Bound> {
        let rounds = if quick { 500 } else { 10_000 };
        let mut best: Option<(usize, f64)> = None;
        for streams in 1..=4 {
            for _ in 0..3 {
                if let Some(c) = sha_ni_bound(streams, rounds)
                    && best.is_none_or(|(_, b)| c > b)
                {
                    best = Some((streams, c));
                }
            }
        }
        best.map(|(streams, c)| Bound {
            compressions_per_s: c,
            streams,
            rfc9162_nodes_per_s: c / 2.0,
            bitcoin_nodes_per_s: c / 3.0,
        })
    }

    /// `n` leaves of `N` bytes from a fixed-seed SplitMix64 stream.
    fn pseudo_random_leaves<const N: usize>(n: usize, seed: u64) -> Vec<[u8; N]> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..n)
            .map(|_| {
                let mut leaf = [0u8; N];
                for chunk in leaf.chunks_mut(8) {
                    chunk.copy_from_slice(&next().to_le_bytes()[..chunk.len()]);
                }
                leaf
            })
            .collect()
    }

    /// A leaf's hash with `sha2`: SHA-256(0x00 ‖ data), or the Bitcoin txid itself.
    fn sha2_leaf(scheme: Scheme, leaf: &[u8]) -> [u8; 32] {
        if scheme == Scheme::Bitcoin {
            let mut id = [0u8; 32];
            let n = leaf.len().min(32);
            id[..n].copy_from_slice(&leaf[..n]);
            id
        } else {
            Sha256::new()
                .chain_update([0u8])
                .chain_update(leaf)
                .finalize()
                .into()
        }
    }

    /// A parent with `sha2`, from one pair (or a lone last node: promoted under RFC 9162,
    /// paired with itself under Bitcoin).
    fn sha2_node(scheme: Scheme, pair: &[[u8; 32]]) -> [u8; 32] {
        let (left, right) = (&pair[0], pair.get(1));
        if scheme == Scheme::Bitcoin {
            let right = right.unwrap_or(left);
            Sha256::digest(
                Sha256::new()
                    .chain_update(left)
                    .chain_update(right)
                    .finalize(),
            )
            .into()
        } else {
            match right {
                Some(right) => Sha256::new()
                    .chain_update([1u8])
                    .chain_update(left)
                    .chain_update(right)
                    .finalize()
                    .into(),
                None => *left,
            }
        }
    }

    fn empty_root(scheme: Scheme) -> [u8; 32] {
        if scheme == Scheme::Bitcoin {
            [0; 32]
        } else {
            Sha256::digest(b"").into()
        }
    }

    /// The obvious build: every leaf hash, then level by level, one thread.
    fn naive_sha2<L: AsRef<[u8]>>(scheme: Scheme, leaves: &[L]) -> [u8; 32] {
        let mut level: Vec<[u8; 32]> = leaves
            .iter()
            .map(|l| sha2_leaf(scheme, l.as_ref()))
            .collect();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| sha2_node(scheme, p)).collect();
        }
        level.first().copied().unwrap_or_else(|| empty_root(scheme))
    }

    /// The usual parallel build: each level split across the current rayon pool.
    fn rayon_sha2<L: AsRef<[u8]> + Sync>(scheme: Scheme, leaves: &[L]) -> [u8; 32] {
        let mut level: Vec<[u8; 32]> = leaves
            .par_iter()
            .map(|l| sha2_leaf(scheme, l.as_ref()))
            .collect();
        while level.len() > 1 {
            level = level.par_chunks(2).map(|p| sha2_node(scheme, p)).collect();
        }
        level.first().copied().unwrap_or_else(|| empty_root(scheme))
    }

    /// `rs_merkle`, for speed only. Its tree is a different one: plain SHA-256 of each leaf
    /// and of `left ‖ right`, with no 0x00/0x01 domain separation (and an odd node promoted),
    /// so its root differs from RFC 9162's and is not compared. Its leaf hashes are computed
    /// (with its own `Sha256`) inside the timed region, as every other row hashes its leaves;
    /// `from_leaves` runs on one thread.
    fn rs_merkle_root<L: AsRef<[u8]>>(leaves: &[L]) -> [u8; 32] {
        use rs_merkle::Hasher as _;
        let hashes: Vec<[u8; 32]> = leaves
            .iter()
            .map(|l| rs_merkle::algorithms::Sha256::hash(l.as_ref()))
            .collect();
        rs_merkle::MerkleTree::<rs_merkle::algorithms::Sha256>::from_leaves(&hashes)
            .root()
            .unwrap_or([0; 32])
    }

    /// Builds rows for one workload: fills in the per-second figures.
    struct Rows<'a> {
        workload: &'a str,
        leaves: usize,
        nodes: usize,
        record_bytes: Option<usize>,
        rows: &'a mut Vec<Row>,
    }

    impl Rows<'_> {
        fn push(&mut self, engine: String, threads: usize, median_s: f64, checked: bool) {
            let nodes_per_s = self.nodes as f64 / median_s;
            let leaves_per_s = self.leaves as f64 / median_s;
            eprintln!("  {engine:<52} {nodes_per_s:>14.0} nodes/s");
            self.rows.push(Row {
                workload: self.workload.to_string(),
                engine,
                threads,
                leaves: self.leaves,
                nodes: self.nodes,
                median_s,
                nodes_per_s,
                nodes_per_s_per_core: nodes_per_s / threads as f64,
                leaves_per_s: self.record_bytes.map(|_| leaves_per_s),
                mb_per_s: self.record_bytes.map(|b| leaves_per_s * b as f64 / 1e6),
                vs_rayon_sha2: None,
                of_sha_ni_bound: None,
                checked,
            });
        }
    }

    fn check(workload: &str, engine: &str, got: [u8; 32], want: [u8; 32]) -> Result<(), CliError> {
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "{workload}: {engine} gave {}, the naive sha2 build {}",
                hex::encode(got),
                hex::encode(want)
            )
            .into())
        }
    }

    /// Root rows for one workload. Every checked root is compared with the naive `sha2` root
    /// before anything is timed.
    fn roots<L: AsRef<[u8]> + Sync>(
        ctx: &Ctx,
        workload: &str,
        scheme: Scheme,
        leaves: &[L],
        record_bytes: Option<usize>,
        rows: &mut Vec<Row>,
    ) -> Result<(), CliError> {
        let n = leaves.len();
        let threads = ctx.threads;
        eprintln!("bench: {workload} ({threads} threads)");
        let platforms: Vec<Platform> = ctx
            .platforms
            .iter()
            .copied()
            .filter(|&p| p != Platform::Portable || n <= PORTABLE_MAX_LEAVES)
            .collect();
        let expected = naive_sha2(scheme, leaves);
        for &p in &platforms {
            let root = merkle_root_with(scheme, p, leaves)?.root();
            check(
                workload,
                &format!("blockverify {}", p.name()),
                root,
                expected,
            )?;
        }
        let root = ctx.verifier.merkle_root(scheme, leaves)?.root();
        check(workload, "blockverify (all threads)", root, expected)?;
        let root = ctx.pool.install(|| rayon_sha2(scheme, leaves));
        check(workload, "rayon sha2", root, expected)?;

        let first = rows.len();
        let mut out = Rows {
            workload,
            leaves: n,
            nodes: n.saturating_sub(1),
            record_bytes,
            rows,
        };
        let reps = ctx.reps;
        for &p in &platforms {
            let t = median_time(reps, || {
                std::hint::black_box(merkle_root_with(scheme, p, leaves).ok());
            });
            out.push(format!("blockverify {} (1 thr)", p.name()), 1, t, true);
        }
        let t = median_time(reps, || {
            std::hint::black_box(ctx.verifier.merkle_root(scheme, leaves).ok());
        });
        out.push(
            format!(
                "blockverify {}, detected ({threads} thr)",
                Platform::detect().name()
            ),
            threads,
            t,
            true,
        );
        let t = median_time(reps.min(5), || {
            std::hint::black_box(naive_sha2(scheme, leaves));
        });
        out.push("naive sha2 loop (1 thr)".into(), 1, t, true);
        let t = median_time(reps, || {
            ctx.pool
                .install(|| std::hint::black_box(rayon_sha2(scheme, leaves)));
        });
        out.push(
            format!("rayon sha2 level by level ({threads} thr)"),
            threads,
            t,
            true,
        );
        if scheme == Scheme::Rfc9162 {
            let t = median_time(reps.min(5), || {
                std::hint::black_box(rs_merkle_root(leaves));
            });
            out.push("rs_merkle 1.x (1 thr, different tree)".into(), 1, t, false);
        }
        finish(ctx, scheme, &mut rows[first..]);
        Ok(())
    }

    /// One level of RFC 9162 node hashing: `children.len() / 2` parents, per SHA-256 path on
    /// one thread, beside `sha2` on one and on all threads.
    fn node_hashing(
        ctx: &Ctx,
        workload: &str,
        children: &[[u8; 32]],
        rows: &mut Vec<Row>,
    ) -> Result<(), CliError> {
        let threads = ctx.threads;
        let scheme = Scheme::Rfc9162;
        eprintln!("bench: {workload} ({threads} threads)");
        let naive = |c: &[[u8; 32]]| -> Vec<[u8; 32]> {
            c.chunks(2).map(|p| sha2_node(scheme, p)).collect()
        };
        let parallel = |c: &[[u8; 32]]| -> Vec<[u8; 32]> {
            c.par_chunks(2).map(|p| sha2_node(scheme, p)).collect()
        };
        let expected = naive(children);
        let platforms: Vec<Platform> = ctx
            .platforms
            .iter()
            .copied()
            .filter(|&p| p != Platform::Portable || children.len() <= PORTABLE_MAX_LEAVES)
            .collect();
        for &p in &platforms {
            if hash_level(scheme, p, children) != expected {
                return Err(
                    format!("{workload}: blockverify {} differs from sha2", p.name()).into(),
                );
            }
        }
        if ctx.pool.install(|| parallel(children)) != expected {
            return Err(format!("{workload}: rayon sha2 differs from sha2").into());
        }

        let first = rows.len();
        let mut out = Rows {
            workload,
            leaves: children.len(),
            nodes: children.len() / 2,
            record_bytes: None,
            rows,
        };
        let reps = ctx.reps;
        // Our rows hash into a reused buffer (as a node does across blocks), so the figure is
        // hashing rather than the page faults of a fresh 16 MiB vector per run.
        let mut parents = vec![[0u8; 32]; children.len().div_ceil(2)];
        for &p in &platforms {
            let t = median_time(reps, || {
                std::hint::black_box(hash_level_into(scheme, p, children, &mut parents));
            });
            out.push(format!("blockverify {} (1 thr)", p.name()), 1, t, true);
        }
        let t = median_time(reps.min(5), || {
            std::hint::black_box(naive(children));
        });
        out.push("naive sha2 loop (1 thr)".into(), 1, t, true);
        let t = median_time(reps, || {
            ctx.pool
                .install(|| std::hint::black_box(parallel(children)));
        });
        out.push(
            format!("rayon sha2 par_chunks ({threads} thr)"),
            threads,
            t,
            true,
        );
        finish(ctx, scheme, &mut rows[first..]);
        Ok(())
    }

    /// Ratios over the workload's rayon `sha2` row, and single-thread fractions of the bound.
    fn finish(ctx: &Ctx, scheme: Scheme, rows: &mut [Row]) {
        let reference = rows
            .iter()
            .find(|r| r.engine.starts_with("rayon sha2"))
            .map(|r| r.nodes_per_s);
        for r in rows.iter_mut() {
            r.vs_rayon_sha2 = reference.filter(|&x| x > 0.0).map(|x| r.nodes_per_s / x);
            if r.threads == 1 {
                r.of_sha_ni_bound = ctx.bound.map(|b| r.nodes_per_s / b.nodes_per_s(scheme));
            }
        }
    }

    fn print_table(ctx: &Ctx, rows: &[Row], portable_skipped: bool) {
        println!(
            "cpu: {}; {} threads; SHA-256 paths: {} (detected: {})",
            cpu_model(),
            ctx.threads,
            ctx.platforms
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", "),
            Platform::detect().name()
        );
        match ctx.bound {
            Some(b) => println!(
                "SHA-NI bound, one core (best of 1-4 interleaved streams: {}): {:.1} M compressions/s = {:.1} M RFC 9162 nodes/s = {:.1} M Bitcoin nodes/s",
                b.streams,
                b.compressions_per_s / 1e6,
                b.rfc9162_nodes_per_s / 1e6,
                b.bitcoin_nodes_per_s / 1e6
            ),
            None => println!("SHA-NI bound: not measured (this CPU has no SHA extensions)"),
        }
        let mut workload = "";
        for r in rows {
            if r.workload != workload {
                workload = &r.workload;
                println!();
                println!("{workload} ({} nodes hashed per run)", r.nodes);
                println!(
                    "{:<48} {:>4} {:>10} {:>13} {:>13} {:>11} {:>8} {:>9} {:>9}",
                    "engine",
                    "thr",
                    "median ms",
                    "nodes/s",
                    "nodes/s/core",
                    "leaves/s",
                    "MB/s",
                    "vs rayon",
                    "of bound"
                );
            }
            let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("-".into(), f);
            println!(
                "{:<48} {:>4} {:>10.2} {:>13.0} {:>13.0} {:>11} {:>8} {:>9} {:>9}",
                r.engine,
                r.threads,
                r.median_s * 1e3,
                r.nodes_per_s,
                r.nodes_per_s_per_core,
                opt(r.leaves_per_s, &|x| format!("{x:.0}")),
                opt(r.mb_per_s, &|x| format!("{x:.1}")),
                opt(r.vs_rayon_sha2, &|x| format!("{x:.2}x")),
                opt(r.of_sha_ni_bound, &|x| format!("{:.0}%", 100.0 * x)),
            );
        }
        println!();
        println!(
            "nodes: internal nodes hashed (leaves - 1 per root; children / 2 for node hashing). Medians of {} runs.",
            ctx.reps
        );
        println!(
            "Every blockverify root and level was checked equal to the naive and rayon sha2 builds before timing; rs_merkle builds a different tree (no domain separation) and is timed for speed only."
        );
        println!(
            "vs rayon: speed over the rayon sha2 build of the same workload. of bound: single-thread nodes/s over the SHA-NI node bound (compressions/2 per RFC 9162 node, /3 per Bitcoin node); root rows also hash their leaves, which the node count leaves out."
        );
        if portable_skipped {
            println!(
                "The portable path (the slow reference) is left out above 2^16 leaves; it is measured on the 2^16 x 512 B workload."
            );
        }
    }
}
