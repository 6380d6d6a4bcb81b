//! `bench merkle`: Merkle roots and node hashing, this crate per SHA-256 path beside `sha2`
//! and `rs_merkle`, with the SHA-NI bound measured in the same run; the SM3 workloads (FISCO
//! BCOS, ChainMaker) are in `sm3_bench`.
#![forbid(unsafe_code)]
use blockverify::merkle::sha256::{Platform, sha_ni_bound};
use blockverify::merkle::sm3::Platform as Sm3Platform;
use blockverify::merkle::{Scheme, hash_level, hash_level_into, merkle_root_with};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use blockverify::{Backend, Verifier};

use super::plot::Point;
use super::progress::{self, note};
use super::{CliError, command_line, cpu_model, median_time, tool_name, unix_time};

/// What `bench merkle` does with GPUs.
#[derive(Debug, Clone, Default)]
pub struct GpuChoice {
    /// Leave the GPU rows out.
    pub skip: bool,
    /// Adapter name (substring); `None`: the best one.
    pub adapter: Option<String>,
    /// log2 of the leaves of the GPU workloads; `None`: 24 on a hardware GPU (20 with
    /// `--quick`), 18 on a CPU emulation (14 with `--quick`).
    pub log2_leaves: Option<u32>,
}

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
    /// This row's speed over the rayon build of the same workload (`sha2`, or `sm3` for the
    /// SM3 workloads).
    pub vs_rayon: Option<f64>,
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
    sm3_platforms: Vec<&'static str>,
    sm3_detected: &'static str,
    sha_ni_bound: Option<Bound>,
    gpu_adapter: Option<GpuAdapter>,
    rows: &'a [Row],
    gpu_crossover: &'a [Crossover],
}

/// Above this many leaves the portable path (the slow reference, not a contender) is left
/// out to keep the run short; it is measured on the smaller workloads.
pub(super) const PORTABLE_MAX_LEAVES: usize = 1 << 16;

/// What every workload shares.
pub(super) struct Ctx {
    pub(super) threads: usize,
    pub(super) reps: usize,
    pub(super) pool: rayon::ThreadPool,
    pub(super) verifier: Verifier,
    bound: Option<Bound>,
    platforms: Vec<Platform>,
}

/// Runs the Merkle workloads, prints their table, and returns the JSON report.
pub fn run(
    quick: bool,
    threads: usize,
    gpu_choice: &GpuChoice,
) -> Result<serde_json::Value, CliError> {
    let ctx = Ctx {
        threads,
        reps: if quick { 3 } else { 7 },
        pool: rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?,
        verifier: Verifier::builder()
            .backend(Backend::Cpu)
            .threads(threads)
            .build()?,
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
    super::sm3_bench::run(&ctx, 20 - shift, &mut rows)?;

    let gpu = open_gpu(threads, gpu_choice);
    let mut crossover = Vec::new();
    if let Ok(gpu) = &gpu {
        let software = gpu.gpu_adapter().is_some_and(|a| a.software);
        let log2 = gpu_choice.log2_leaves.unwrap_or(match (software, quick) {
            (false, false) => 24,
            (false, true) => 20,
            (true, false) => 18,
            (true, true) => 14,
        });
        crossover = gpu_rows(&ctx, gpu, log2, &mut rows)?;
    }

    progress::suspend(|| {
        print_table(&ctx, &rows, small > PORTABLE_MAX_LEAVES);
        print_gpu(&gpu, &crossover);
    });
    {
        let report = Report {
            tool: tool_name(),
            command: command_line(),
            unix_time: unix_time(),
            cpu: cpu_model(),
            threads,
            sha256_platforms: ctx.platforms.iter().map(|p| p.name()).collect(),
            sha256_detected: Platform::detect().name(),
            sm3_platforms: Sm3Platform::available().iter().map(|p| p.name()).collect(),
            sm3_detected: Sm3Platform::detect().name(),
            sha_ni_bound: ctx.bound,
            gpu_adapter: gpu.as_ref().ok().and_then(GpuAdapter::of),
            rows: &rows,
            gpu_crossover: &crossover,
        };
        Ok(serde_json::to_value(&report)?)
    }
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
pub(super) fn pseudo_random_leaves<const N: usize>(n: usize, seed: u64) -> Vec<[u8; N]> {
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
pub(super) struct Rows<'a> {
    pub(super) workload: &'a str,
    pub(super) leaves: usize,
    pub(super) nodes: usize,
    pub(super) record_bytes: Option<usize>,
    pub(super) rows: &'a mut Vec<Row>,
}

impl Rows<'_> {
    pub(super) fn push(&mut self, engine: String, threads: usize, median_s: f64, checked: bool) {
        let nodes_per_s = self.nodes as f64 / median_s;
        let leaves_per_s = self.leaves as f64 / median_s;
        note!("  {engine:<52} {nodes_per_s:>14.0} nodes/s");
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
            vs_rayon: None,
            of_sha_ni_bound: None,
            checked,
        });
    }
}

pub(super) fn check(
    workload: &str,
    engine: &str,
    got: [u8; 32],
    want: [u8; 32],
) -> Result<(), CliError> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{workload}: {engine} gave {}, the naive build {}",
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
    note!("bench: {workload} ({threads} threads)");
    let platforms: Vec<Platform> = ctx
        .platforms
        .iter()
        .copied()
        .filter(|&p| p != Platform::portable() || n <= PORTABLE_MAX_LEAVES)
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
    note!("bench: {workload} ({threads} threads)");
    let naive =
        |c: &[[u8; 32]]| -> Vec<[u8; 32]> { c.chunks(2).map(|p| sha2_node(scheme, p)).collect() };
    let parallel = |c: &[[u8; 32]]| -> Vec<[u8; 32]> {
        c.par_chunks(2).map(|p| sha2_node(scheme, p)).collect()
    };
    let expected = naive(children);
    let platforms: Vec<Platform> = ctx
        .platforms
        .iter()
        .copied()
        .filter(|&p| p != Platform::portable() || children.len() <= PORTABLE_MAX_LEAVES)
        .collect();
    for &p in &platforms {
        if hash_level(scheme, p, children) != expected {
            return Err(format!("{workload}: blockverify {} differs from sha2", p.name()).into());
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
        r.vs_rayon = reference.filter(|&x| x > 0.0).map(|x| r.nodes_per_s / x);
        if r.threads == 1 && !r.engine.starts_with("blockverify gpu") {
            r.of_sha_ni_bound = ctx.bound.map(|b| r.nodes_per_s / b.nodes_per_s(scheme));
        }
    }
}

fn print_table(ctx: &Ctx, rows: &[Row], portable_skipped: bool) {
    println!(
        "cpu: {}; {} threads; SHA-256 paths: {} (detected: {}); SM3 paths: {} (detected: {})",
        cpu_model(),
        ctx.threads,
        ctx.platforms
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", "),
        Platform::detect().name(),
        Sm3Platform::available()
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", "),
        Sm3Platform::detect().name()
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
            opt(r.vs_rayon, &|x| format!("{x:.2}x")),
            opt(r.of_sha_ni_bound, &|x| format!("{:.0}%", 100.0 * x)),
        );
    }
    println!();
    println!(
        "nodes: internal nodes hashed (leaves - 1 per root; children / 2 for node hashing). Medians of {} runs.",
        ctx.reps
    );
    println!(
        "Every blockverify root and level was checked equal to the naive and rayon sha2 (or sm3) builds before timing; rs_merkle builds a different tree (no domain separation) and is timed for speed only."
    );
    println!(
        "vs rayon: speed over the rayon sha2 (SM3 workloads: rayon sm3) build of the same workload. of bound: single-thread nodes/s over the SHA-NI node bound (compressions/2 per RFC 9162 node, /3 per Bitcoin node); root rows also hash their leaves, which the node count leaves out."
    );
    if portable_skipped {
        println!(
            "The portable path (the slow reference) is left out above 2^16 leaves; it is measured on the 2^16 x 512 B workload."
        );
    }
}

/// The adapter the GPU rows ran on, for the JSON report.
#[derive(Debug, Clone, Serialize)]
struct GpuAdapter {
    name: String,
    backend: String,
    device_type: String,
    driver: String,
    driver_info: String,
    timestamp_queries: bool,
}

impl GpuAdapter {
    fn of(v: &Verifier) -> Option<Self> {
        v.gpu_adapter().map(|a| GpuAdapter {
            name: a.name.clone(),
            backend: a.backend.clone(),
            device_type: a.device_type.clone(),
            driver: a.driver.clone(),
            driver_info: a.driver_info.clone(),
            timestamp_queries: a.timestamp_queries,
        })
    }
}

/// One size of the CPU/GPU crossover sweep.
#[derive(Debug, Clone, Serialize)]
struct Crossover {
    leaves: usize,
    cpu_engine_s: f64,
    gpu_end_to_end_s: f64,
}

/// A verifier that sends every Merkle job to the GPU, or why there is none.
fn open_gpu(threads: usize, choice: &GpuChoice) -> Result<Verifier, String> {
    if choice.skip {
        return Err("left out (--no-gpu)".into());
    }
    let mut builder = Verifier::builder().backend(Backend::Gpu).threads(threads);
    if let Some(name) = &choice.adapter {
        builder = builder.gpu_adapter(name.clone());
    }
    builder.build().map_err(|e| e.to_string())
}

/// GPU rows beside the CPU engine: for each scheme (RFC 9162, Bitcoin, and the SM3 trees of
/// FISCO BCOS and ChainMaker), 2^log2 leaves of 32 bytes end to end
/// (packing, transfers, kernels, readback) and kernel-only from timestamp queries; then the
/// crossover sweep of RFC 9162 roots from 2^10 leaves up.
fn gpu_rows(
    ctx: &Ctx,
    gpu: &Verifier,
    log2: u32,
    rows: &mut Vec<Row>,
) -> Result<Vec<Crossover>, CliError> {
    let n = 1usize << log2;
    let threads = ctx.threads;
    let reps = ctx.reps;
    let adapter = gpu
        .gpu_adapter()
        .map_or_else(String::new, |a| a.name.clone());
    let leaves = pseudo_random_leaves::<32>(n, 3);
    for scheme in [
        Scheme::Rfc9162,
        Scheme::Bitcoin,
        Scheme::FiscoBcos,
        Scheme::ChainMakerSm3,
    ] {
        let workload = format!("gpu: {scheme} root, 2^{log2} leaves x 32 B");
        note!("bench: {workload} on {adapter}");
        // The CPU engine is checked against the naive sha2 (sm3) build on every other
        // workload; here the GPU is checked against it.
        let expected = ctx.verifier.merkle_root(scheme, &leaves)?.root();
        let report = gpu.merkle_root(scheme, &leaves)?;
        if let Some(fault) = report.gpu_fault() {
            return Err(format!("{workload}: the GPU job failed ({fault})").into());
        }
        check(&workload, "blockverify gpu", report.root(), expected)?;

        let first = rows.len();
        let mut out = Rows {
            workload: &workload,
            leaves: n,
            nodes: n - 1,
            record_bytes: None,
            rows,
        };
        let t = median_time(reps, || {
            std::hint::black_box(ctx.verifier.merkle_root(scheme, &leaves).ok());
        });
        out.push(
            format!("blockverify cpu engine ({threads} thr)"),
            threads,
            t,
            true,
        );
        let t = median_time(reps, || {
            std::hint::black_box(gpu.merkle_root(scheme, &leaves).ok());
        });
        out.push("blockverify gpu, end to end".into(), 1, t, true);
        let mut kernel = Vec::new();
        let mut node_kernel = Vec::new();
        for _ in 0..reps.max(3) {
            let (report, timing) = gpu.gpu_merkle_root_profiled(scheme, &leaves, true)?;
            check(
                &workload,
                "blockverify gpu (profiled)",
                report.root(),
                expected,
            )?;
            kernel.extend(timing.kernel_ns);
            node_kernel.extend(timing.node_kernel_ns);
        }
        if kernel.is_empty() {
            note!("  (this adapter has no timestamp queries: no kernel-only rows)");
        } else {
            out.push(
                "blockverify gpu, kernels only (timestamps)".into(),
                1,
                median_ns(&mut kernel),
                true,
            );
            out.push(
                "blockverify gpu, node kernel only (timestamps)".into(),
                1,
                median_ns(&mut node_kernel),
                true,
            );
        }
        for r in &mut rows[first..] {
            r.vs_rayon = None;
        }
    }
    drop(leaves);

    let mut sweep = Vec::new();
    let mut log = 10;
    while log <= log2 {
        let leaves = pseudo_random_leaves::<32>(1 << log, 4);
        let cpu = median_time(reps, || {
            std::hint::black_box(ctx.verifier.merkle_root(Scheme::Rfc9162, &leaves).ok());
        });
        let gpu_t = median_time(reps, || {
            std::hint::black_box(gpu.merkle_root(Scheme::Rfc9162, &leaves).ok());
        });
        note!(
            "  crossover 2^{log}: cpu {:.3} ms, gpu {:.3} ms",
            cpu * 1e3,
            gpu_t * 1e3
        );
        sweep.push(Crossover {
            leaves: 1 << log,
            cpu_engine_s: cpu,
            gpu_end_to_end_s: gpu_t,
        });
        log += 2;
    }
    Ok(sweep)
}

fn median_ns(xs: &mut [u64]) -> f64 {
    xs.sort_unstable();
    xs[xs.len() / 2] as f64 / 1e9
}

fn print_gpu(gpu: &Result<Verifier, String>, crossover: &[Crossover]) {
    let gpu = match gpu {
        Ok(gpu) => gpu,
        Err(why) => {
            println!();
            println!("GPU rows: none ({why})");
            return;
        }
    };
    if let Some(a) = gpu.gpu_adapter() {
        println!();
        println!(
            "GPU: {} ({}, {}; driver {} {}){}",
            a.name,
            a.backend,
            a.device_type,
            a.driver,
            a.driver_info,
            if a.software {
                " -- a CPU emulation: its speed says nothing about a GPU"
            } else {
                ""
            }
        );
    }
    println!(
        "gpu rows: end to end = packing, upload, kernels and readback, wall clock; kernels only = summed compute-pass time from timestamp queries; node kernel = the reduction passes alone (nodes/s there is the node-hash rate)."
    );
    println!("crossover, RFC 9162 root of 32-byte leaves (CPU engine vs GPU end to end):");
    println!(
        "{:>10} {:>12} {:>12} {:>9}",
        "leaves", "cpu ms", "gpu ms", "gpu/cpu"
    );
    for c in crossover {
        println!(
            "{:>10} {:>12.3} {:>12.3} {:>8.2}x",
            c.leaves,
            c.cpu_engine_s * 1e3,
            c.gpu_end_to_end_s * 1e3,
            c.cpu_engine_s / c.gpu_end_to_end_s
        );
    }
    match crossover
        .iter()
        .position(|c| c.gpu_end_to_end_s < c.cpu_engine_s)
        .filter(|&i| {
            crossover[i..]
                .iter()
                .all(|c| c.gpu_end_to_end_s < c.cpu_engine_s)
        }) {
        Some(i) => println!(
            "the GPU is faster from {} leaves up on this machine",
            crossover[i].leaves
        ),
        None => println!("the GPU was not faster than the CPU engine at any size measured"),
    }
}

/// Merkle-root throughput per engine against tree size, for `bench --plot`: the CPU engine,
/// the rayon `sha2` build and (when there is one) the GPU end to end, on 32-byte leaves.
pub fn sweep(quick: bool, threads: usize, gpu_choice: &GpuChoice) -> Result<Vec<Point>, CliError> {
    let cpu = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(threads)
        .build()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let gpu = open_gpu(threads, gpu_choice).ok();
    let software = gpu
        .as_ref()
        .and_then(|g| g.gpu_adapter())
        .is_some_and(|a| a.software);
    let top = if quick { 16 } else { 20 };
    let reps = if quick { 3 } else { 5 };
    let panel = format!("RFC 9162 Merkle roots, 32-byte leaves ({threads} threads)");
    let mut points = Vec::new();
    let sizes: Vec<u32> = (10..=top).step_by(2).collect();
    let bar = progress::bar(sizes.len());
    for log in sizes {
        let n = 1usize << log;
        progress::step(&bar, format!("merkle sweep, 2^{log} leaves"));
        let leaves = pseudo_random_leaves::<32>(n, 5);
        let expected = cpu.merkle_root(Scheme::Rfc9162, &leaves)?.root();
        let mut point = |series: String, seconds: f64| {
            points.push(Point {
                series,
                panel: panel.clone(),
                batch: n,
                per_s: n as f64 / seconds,
            });
        };
        point(
            "blockverify cpu engine".into(),
            median_time(reps, || {
                std::hint::black_box(cpu.merkle_root(Scheme::Rfc9162, &leaves).ok());
            }),
        );
        let root = pool.install(|| rayon_sha2(Scheme::Rfc9162, &leaves));
        check("merkle sweep", "rayon sha2", root, expected)?;
        point(
            "rayon sha2 level by level".into(),
            median_time(reps, || {
                pool.install(|| std::hint::black_box(rayon_sha2(Scheme::Rfc9162, &leaves)));
            }),
        );
        // An emulated GPU is slow; its line stops at 2^16 leaves.
        if let Some(gpu) = gpu.as_ref().filter(|_| !software || log <= 16) {
            let root = gpu.merkle_root(Scheme::Rfc9162, &leaves)?.root();
            check("merkle sweep", "blockverify gpu", root, expected)?;
            let name = gpu
                .gpu_adapter()
                .map_or_else(String::new, |a| a.name.clone());
            point(
                format!("blockverify gpu ({name})"),
                median_time(reps, || {
                    std::hint::black_box(gpu.merkle_root(Scheme::Rfc9162, &leaves).ok());
                }),
            );
        }
    }
    bar.finish_and_clear();
    Ok(points)
}
