//! `blockverify bench`: this crate beside its peers, on the same data, in one run.
//!
//! Every figure is a median over repetitions, and every ratio compares rows measured in this
//! same run on this same machine. Peers get every advantage they offer: keys pre-parsed
//! (decompressed) outside the timed region, and the same thread count via rayon.
//!
//! `bench merkle` times Merkle roots (RFC 9162 and Bitcoin) per SHA-256 path beside a naive
//! `sha2` loop, a rayon level-by-level `sha2` build and `rs_merkle`, and quotes single-thread
//! node rates against the SHA-NI throughput bound measured in the same run.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use blockverify::{
    Backend, DEFAULT_KEY_CACHE_SIZE, Policy, SigItem, SigReport, Verifier, verify_single,
};
use blockverify_testkit::{InvalidPlacement, Workload as Traffic, WorkloadSpec};
use rayon::prelude::*;
use serde::Serialize;

use super::CliError;
use super::info::{cpu_model, curve_backend};
use progress::note;

/// What to benchmark.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Workload {
    /// Signature verification: Ed25519, then SM2.
    Sigs,
    /// SM2 signature verification alone (the SM2 rows of `sigs`).
    Sm2,
    /// Merkle roots (RFC 9162, Bitcoin) and node hashing.
    Merkle,
    /// Whole-block clearance beside the signature engine alone.
    Blocks,
    /// All of the above, in one run.
    All,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Sigs => "sigs",
            Workload::Sm2 => "sm2",
            Workload::Merkle => "merkle",
            Workload::Blocks => "blocks",
            Workload::All => "all",
        }
    }
}

pub struct Options {
    pub plot: Option<PathBuf>,
    pub workload: Workload,
    pub quick: bool,
    pub json: Option<PathBuf>,
    pub threads: usize,
    pub gpu: merkle_bench::GpuChoice,
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

impl Row {
    /// A row of `items` items done in `median_s` seconds (ratio filled in when printed).
    fn measured(scenario: &str, engine: String, items: usize, median_s: f64) -> Row {
        Row {
            scenario: scenario.to_string(),
            engine,
            items,
            median_s,
            per_s: items as f64 / median_s,
            ratio: None,
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
    curve25519_backend: &'static str,
    rows: &'a [Row],
}

pub fn run(opts: &Options) -> Result<ExitCode, CliError> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let workloads: Vec<Workload> = match opts.workload {
        Workload::All => vec![Workload::Sigs, Workload::Merkle, Workload::Blocks],
        w => vec![w],
    };
    let run_bar = (workloads.len() > 1)
        .then(|| progress::bar(workloads.len() + usize::from(opts.plot.is_some())));
    let mut reports = serde_json::Map::new();
    for &w in &workloads {
        if let Some(bar) = &run_bar {
            progress::step(bar, format!("bench {}", w.name()));
        }
        let report = match w {
            Workload::Sigs => {
                let rows = bench_sigs(opts.quick, threads, &opts.gpu)?;
                progress::suspend(|| print_table(&rows));
                rows_report(threads, &rows)?
            }
            Workload::Sm2 => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()?;
                let rows = sm2_bench::rows(opts.quick, threads, &pool, None)?;
                progress::suspend(|| print_table(&rows));
                rows_report(threads, &rows)?
            }
            Workload::Blocks => {
                let rows = blocks_bench::run(opts.quick, threads)?;
                progress::suspend(|| print_blocks(&rows));
                rows_report(threads, &rows)?
            }
            Workload::Merkle => merkle_bench::run(opts.quick, threads, &opts.gpu)?,
            Workload::All => unreachable!("expanded above"),
        };
        progress::suspend(|| println!());
        reports.insert(w.name().to_string(), report);
    }
    if let Some(path) = &opts.plot {
        if let Some(bar) = &run_bar {
            progress::step(bar, "throughput sweep for the plot");
        }
        let mut points = sweep::sigs(opts.quick, threads)?;
        points.extend(merkle_bench::sweep(opts.quick, threads, &opts.gpu)?);
        let title = format!(
            "blockverify {} on {} ({threads} threads)",
            env!("CARGO_PKG_VERSION"),
            cpu_model()
        );
        std::fs::write(path, plot::svg(&title, &points)?)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        note!("wrote {}", path.display());
        reports.insert("sweep".into(), serde_json::to_value(&points)?);
    }
    if let Some(bar) = &run_bar {
        bar.finish();
    }
    if let Some(path) = &opts.json {
        // One workload: its report as before; several: one report per workload.
        let value = if reports.len() == 1 {
            reports.into_iter().next().expect("one").1
        } else {
            let mut all = serde_json::Map::new();
            all.insert("tool".into(), tool_name().into());
            all.insert("command".into(), command_line().into());
            all.insert("unix_time".into(), unix_time().into());
            all.extend(reports);
            serde_json::Value::Object(all)
        };
        write_json(path, &value)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON report of a workload measured as [`Row`]s.
fn rows_report(threads: usize, rows: &[Row]) -> Result<serde_json::Value, CliError> {
    Ok(serde_json::to_value(Report {
        tool: tool_name(),
        command: command_line(),
        unix_time: unix_time(),
        cpu: cpu_model(),
        threads,
        curve25519_backend: curve_backend(),
        rows,
    })?)
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
    median(&mut times)
}

/// [`median_time`] of `f(0)`, `f(1)`, … `f(sets - 1)`, `f(0)`, …: each run (the warm-up
/// included) takes the next of `sets` data sets in turn.
fn median_time_in_turn(reps: usize, sets: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut turn = 0;
    median_time(reps, || {
        f(turn % sets);
        turn += 1;
    })
}

struct Scenario {
    name: String,
    traffic: Traffic,
}

/// The benchmark's traffic: `items` records of 256-byte messages from `issuers` issuers
/// (`0`: a key per record), the fraction `invalid` of them corrupted as `placement` says,
/// signed on `pool`.
fn traffic(
    pool: &rayon::ThreadPool,
    items: usize,
    issuers: usize,
    invalid: f64,
    placement: InvalidPlacement,
    seed: u64,
) -> Traffic {
    let spec = WorkloadSpec {
        items,
        issuers,
        message_len: 256,
        invalid_fraction: invalid,
        seed,
    };
    pool.install(|| Traffic::generate_with_placement(&spec, placement))
}

/// Items per call in the "calls of 512" scenarios: a small block, or a mempool's handful.
const CALL_ITEMS: usize = 512;

/// How the names of the scenarios verified as several calls end.
fn calls_label() -> String {
    format!("calls of {CALL_ITEMS}")
}

/// Runs the signature benchmark and returns its rows: one call per scenario for each shape of
/// traffic, more distinct keys than the default key cache holds, the same traffic as calls of
/// [`CALL_ITEMS`] items, on a hardware GPU a GPU-sized batch, then the SM2 rows.
pub fn bench_sigs(
    quick: bool,
    threads: usize,
    gpu_choice: &merkle_bench::GpuChoice,
) -> Result<Vec<Row>, CliError> {
    use InvalidPlacement::{OneRun, Scattered};
    let (n, reps) = if quick { (2048, 3) } else { (16_384, 7) };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut gpu = GpuSigs::open(quick, threads, gpu_choice);
    let mut rows = Vec::new();
    // (kind, invalid fraction, where the invalid items sit, GPU rows too). A run of bad items
    // and 1,000 issuers probe the CPU engine's weak spots (issue 21): no GPU rows there, which
    // would add tens of seconds each on a CPU emulation.
    let kinds = [
        ("all valid", 0.0, Scattered, true),
        ("1% invalid", 0.01, Scattered, true),
        ("100% invalid", 1.0, Scattered, true),
        ("1% invalid in one run", 0.01, OneRun, false),
    ];
    let shapes = [
        ("distinct keys", 0, &kinds[..], true),
        ("64 issuers (Zipf)", 64, &kinds[..], true),
        ("1,000 issuers (Zipf)", 1000, &kinds[..2], false),
    ];
    for (shape, issuers, kinds, shape_on_gpu) in shapes {
        for &(kind, invalid, placement, kind_on_gpu) in kinds {
            let scenario = Scenario {
                name: format!("{shape}, {kind}"),
                traffic: traffic(&pool, n, issuers, invalid, placement, 0xB10C),
            };
            note!("bench: {} ({n} items, {threads} threads)", scenario.name);
            let first = rows.len();
            bench_scenario(&scenario, invalid > 0.0, threads, reps, &pool, &mut rows)?;
            if shape_on_gpu
                && kind_on_gpu
                && let Ok(gpu) = gpu.as_mut()
            {
                gpu.rows(&scenario, &mut rows)?;
            }
            note_rows(&rows[first..]);
        }
    }
    bench_beyond_cache(n, threads, reps, &pool, &mut rows)?;
    for (shape, issuers) in [("distinct keys", 0), ("64 issuers (Zipf)", 64)] {
        let scenario = Scenario {
            name: format!("{shape}, all valid, {}", calls_label()),
            traffic: traffic(&pool, n, issuers, 0.0, Scattered, 0xB10C),
        };
        bench_calls(&scenario, CALL_ITEMS, threads, reps, &pool, &mut rows)?;
    }
    if let Ok(gpu) = gpu.as_mut()
        && !gpu.software
    {
        gpu.large_batch(quick, &pool, &mut rows)?;
    }
    rows.extend(sm2_bench::rows(quick, threads, &pool, gpu.as_ref().ok())?);
    progress::suspend(|| match &gpu {
        Ok(gpu) => gpu.print_compile_time(),
        Err(why) => println!("GPU rows: none ({why})"),
    });
    Ok(rows)
}

/// The GPU side of `bench sigs`: verifiers opened once for the whole run (as a node opens
/// its device once), so the shader compile is paid once and reported on its own line.
struct GpuSigs {
    zip215: Verifier,
    strict: Verifier,
    auto: Verifier,
    /// Items per GPU row: the scenario's own count on a hardware GPU; a prefix of it on a
    /// CPU emulation, which verifies a few thousand signatures per second.
    items: usize,
    reps: usize,
    threads: usize,
    compile: Option<std::time::Duration>,
    field: Option<&'static str>,
    adapter: String,
    software: bool,
}

/// The key cache of the CPU engines in the 2^18-item scenario (the CPU row's and Auto's):
/// room for all of its distinct keys twice over, so both run with their keys cached.
const LARGE_BATCH_KEYS: usize = 1 << 19;

impl GpuSigs {
    fn open(quick: bool, threads: usize, choice: &merkle_bench::GpuChoice) -> Result<Self, String> {
        if choice.skip {
            return Err("left out (--no-gpu)".into());
        }
        let open = |policy: Policy| {
            let mut builder = Verifier::builder()
                .policy(policy)
                .backend(Backend::Gpu)
                .threads(threads);
            if let Some(name) = &choice.adapter {
                builder = builder.gpu_adapter(name.clone());
            }
            builder.build().map_err(|e| e.to_string())
        };
        let zip215 = open(Policy::Zip215)?;
        let summary = zip215
            .gpu_adapter()
            .cloned()
            .ok_or("the GPU verifier opened no adapter")?;
        // Auto on a CPU emulation would be the CPU engine alone; the benchmark lets it use
        // the emulation so that the split is exercised (and says so in the row's name).
        // Its key cache holds the 2^18-item scenario's keys, as the CPU row's does there
        // (`large_batch`): otherwise that row compares a warm CPU engine with an Auto whose
        // CPU share misses the cache. At 16,384 items both fit the default.
        let auto = Verifier::builder()
            .key_cache_size(LARGE_BATCH_KEYS)
            .policy(Policy::Zip215)
            .backend(Backend::Auto)
            .threads(threads)
            .auto_allows_software_gpu(summary.software);
        let auto = match &choice.adapter {
            Some(name) => auto.gpu_adapter(name.clone()),
            None => auto,
        }
        .build()
        .map_err(|e| e.to_string())?;
        let strict = open(Policy::Strict)?;
        let (items, reps) = match (summary.software, quick) {
            (true, true) => (1024, 2),
            (true, false) => (4096, 3),
            (false, true) => (2048, 3),
            (false, false) => (16_384, 7),
        };
        Ok(GpuSigs {
            zip215,
            strict,
            auto,
            items,
            reps,
            threads,
            compile: None,
            field: None,
            adapter: summary.name,
            software: summary.software,
        })
    }

    /// GPU rows for one scenario: each policy end to end, its two halves (packing on the
    /// CPU cores, the device's part), and `Auto` splitting the batch with the CPU engine.
    fn rows(&mut self, sc: &Scenario, rows: &mut Vec<Row>) -> Result<(), CliError> {
        let all = sc.traffic.items();
        let items = &all[..self.items.min(all.len())];
        let n = items.len();
        let want: Vec<usize> = sc
            .traffic
            .corrupted
            .iter()
            .copied()
            .filter(|&i| i < n)
            .collect();
        let mut push =
            |engine: String, median_s: f64| rows.push(Row::measured(&sc.name, engine, n, median_s));
        let check = |engine: &str, report: &SigReport| {
            check_verdicts(engine, &sc.name, &report.invalid_indices(), &want)
        };
        for (policy, verifier) in [("zip215", &self.zip215), ("strict", &self.strict)] {
            // The first job compiles the kernel: outside the timed runs, timed on its own.
            let (report, _) = verifier.gpu_verify_signatures_profiled(items)?;
            if policy == "zip215" && self.compile.is_none() {
                let compiled = verifier.gpu_compile_time();
                self.compile = compiled.and_then(|c| c.ed25519);
                self.field = compiled.and_then(|c| c.ed25519_field);
            }
            let engine = format!("blockverify {policy} GPU");
            check(&engine, &report)?;
            let (total, pack, device) =
                self.time_gpu_job(|| Ok(verifier.gpu_verify_signatures_profiled(items)?.1))?;
            push(engine, total);
            if policy == "zip215" {
                push(format!("  GPU pack only (k on {} thr)", self.threads), pack);
                push("  GPU device only (upload+kernel+readback)".into(), device);
            }
        }
        let engine = self.auto_engine("zip215");
        let (time, share) = self.time_auto(
            n,
            || self.auto.verify_signatures(items),
            |report| check(&engine, report),
        )?;
        push(format!("{engine} {:.0}% GPU", 100.0 * share), time);
        Ok(())
    }

    /// Medians over the repetitions of a GPU-only job (`job` runs one and returns its
    /// halves' times): end to end, packing, the device's part, in seconds. On a hardware GPU
    /// the job first runs for half a second: a GPU left idle by the CPU rows before has
    /// clocked down (an H200 idles at a sixth of its clock) and takes a few hundred
    /// milliseconds of work to clock up again; measured on one, the first GPU row after a long
    /// CPU row ran at a quarter of the next rows' rate.
    fn time_gpu_job(
        &self,
        job: impl Fn() -> Result<blockverify::gpu::SigTiming, CliError>,
    ) -> Result<(f64, f64, f64), CliError> {
        if !self.software {
            let warming = Instant::now();
            while warming.elapsed() < Duration::from_millis(500) {
                job()?;
            }
        }
        let (mut total, mut pack, mut device) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.reps {
            let started = Instant::now();
            let timing = job()?;
            total.push(started.elapsed().as_secs_f64());
            pack.push(timing.pack.as_secs_f64());
            device.push(timing.device.as_secs_f64());
        }
        Ok((median(&mut total), median(&mut pack), median(&mut device)))
    }

    /// The name of an `Auto` row for `what`.
    fn auto_engine(&self, what: &str) -> String {
        format!(
            "blockverify {what} Auto (GPU{} + {} thr)",
            if self.software { " emulated" } else { "" },
            self.threads
        )
    }

    /// `Auto` on `n` items: three calibrating batches (the first split by guesswork, then by
    /// measured rates), each `check`ed, then the median time in seconds and the median share
    /// of the items the GPU took.
    fn time_auto(
        &self,
        n: usize,
        job: impl Fn() -> SigReport,
        check: impl Fn(&SigReport) -> Result<(), CliError>,
    ) -> Result<(f64, f64), CliError> {
        for _ in 0..3 {
            check(&job())?;
        }
        let (mut times, mut share) = (Vec::new(), Vec::new());
        for _ in 0..self.reps {
            let started = Instant::now();
            let report = job();
            times.push(started.elapsed().as_secs_f64());
            share.push(report.gpu_items() as f64 / n as f64);
        }
        Ok((median(&mut times), median(&mut share)))
    }

    /// On a hardware GPU, one more scenario large enough to fill it (16,384 items keep a big
    /// GPU mostly idle): 2^18 distinct-key items (2^16 with `--quick`), the CPU engine beside
    /// the GPU rows.
    fn large_batch(
        &mut self,
        quick: bool,
        pool: &rayon::ThreadPool,
        rows: &mut Vec<Row>,
    ) -> Result<(), CliError> {
        let n: usize = if quick { 1 << 16 } else { 1 << 18 };
        let scenario = Scenario {
            name: format!(
                "distinct keys, all valid, 2^{} (GPU-sized)",
                n.trailing_zeros()
            ),
            traffic: traffic(pool, n, 0, 0.0, InvalidPlacement::Scattered, 0x6B_10C),
        };
        note!(
            "bench: {} ({n} items, {} threads)",
            scenario.name,
            self.threads
        );
        let items = scenario.traffic.items();
        let cpu = Verifier::builder()
            .threads(self.threads)
            .key_cache_size(LARGE_BATCH_KEYS)
            .build()?;
        let first = rows.len();
        let t = median_time(self.reps, || {
            std::hint::black_box(cpu.verify_signatures(&items));
        });
        rows.push(Row::measured(
            &scenario.name,
            "blockverify zip215 (key cache warm)".into(),
            n,
            t,
        ));
        let prefix = std::mem::replace(&mut self.items, n);
        let result = self.rows(&scenario, rows);
        self.items = prefix;
        result?;
        note_rows(&rows[first..]);
        Ok(())
    }

    /// GPU rows for one SM2 scenario (`sm2_bench`): the whole batch on the GPU end to end,
    /// its two halves (checks 1–5 and the digests on the CPU cores; the device's part), and
    /// `Auto` with its share. The GPU verifiers are the Ed25519 rows' (SM2 takes no policy).
    fn sm2_rows(
        &self,
        name: &str,
        items: &[blockverify::Sm2Item<'_>],
        want: &SigReport,
        rows: &mut Vec<Row>,
    ) -> Result<(), CliError> {
        let n = items.len();
        let check = |engine: &str, report: &SigReport| -> Result<(), CliError> {
            if report.verdicts() == want.verdicts() {
                Ok(())
            } else {
                Err(format!("{name}: {engine} disagrees with the CPU engine").into())
            }
        };
        // The first job compiles the kernel: outside the timed runs.
        let (report, _) = self.zip215.gpu_verify_sm2_profiled(items)?;
        check("blockverify sm2 GPU", &report)?;
        let (total, pack, device) =
            self.time_gpu_job(|| Ok(self.zip215.gpu_verify_sm2_profiled(items)?.1))?;
        let mut push = |engine: String, t: f64| rows.push(Row::measured(name, engine, n, t));
        push("blockverify sm2 GPU".into(), total);
        push(
            format!("  GPU pack only (checks 1-5, e on {} thr)", self.threads),
            pack,
        );
        push("  GPU device only (upload+kernel+readback)".into(), device);
        let engine = self.auto_engine("sm2");
        let (time, share) = self.time_auto(
            n,
            || self.auto.verify_sm2(items),
            |report| check(&engine, report),
        )?;
        push(format!("{engine} {:.0}% GPU", 100.0 * share), time);
        Ok(())
    }

    fn print_compile_time(&self) {
        match self.compile {
            Some(t) => println!(
                "GPU rows on {1}; shader compile (Ed25519 kernels, {0} field build): {2:.1} s, once per device, in no row",
                self.field.unwrap_or("?"),
                self.adapter,
                t.as_secs_f64()
            ),
            None => println!("GPU shader compile: not measured"),
        }
        if let Some(compiled) = self.zip215.gpu_compile_time()
            && let Some(t) = compiled.sm2
        {
            println!(
                "SM2 kernel compile ({} field build): {:.2} s, once per device, in no row",
                compiled.sm2_field.unwrap_or("?"),
                t.as_secs_f64()
            );
        }
    }
}

/// The median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Logs a scenario's rows as they are measured (the table comes at the end).
fn note_rows(rows: &[Row]) {
    for r in rows {
        note!("  {:<48} {:>12.0}/s", r.engine, r.per_s);
    }
}

/// An error unless `invalid` (what `engine` found) is exactly `want` (what the generator
/// corrupted): a fast wrong answer must not make a row.
fn check_verdicts(
    engine: &str,
    scenario: &str,
    invalid: &[usize],
    want: &[usize],
) -> Result<(), CliError> {
    if invalid != want {
        return Err(format!(
            "{engine} on '{scenario}': verdicts differ from the generator's corruptions"
        )
        .into());
    }
    Ok(())
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
    let mut push =
        |engine: String, median_s: f64| rows.push(Row::measured(&sc.name, engine, n, median_s));

    // This crate. Each verifier is built once, as a node would; its verdicts are checked
    // against the corruptions the generator made, so a fast wrong answer cannot pass.
    for (engine, policy, cache) in [
        ("blockverify zip215 (key cache warm)", Policy::Zip215, true),
        ("blockverify zip215 (no key cache)", Policy::Zip215, false),
        (STRICT_ENGINE, Policy::Strict, true),
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
        check_verdicts(
            engine,
            &sc.name,
            &report.invalid_indices(),
            &sc.traffic.corrupted,
        )?;
        let t = median_time(reps, || {
            std::hint::black_box(verifier.verify_signatures(&items));
        });
        push(engine.to_string(), t);
    }

    let peers = Peers::new(&items);
    // Beside the strict row: the same rules, item by item, as Agave runs them.
    let t = median_time(reps, || {
        pool.install(|| std::hint::black_box(peers.dalek_strict_each()));
    });
    push(format!("{DALEK_STRICT_EACH} ({threads} thr)"), t);
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
        push(dalek_batch_engine(threads), t);
        let t = median_time(reps, || {
            pool.install(|| std::hint::black_box(peers.zebra_batch(threads)));
        });
        push(zebra_batch_engine(threads), t);
        let t = median_time(reps, || {
            pool.install(|| std::hint::black_box(peers.ring_each()));
        });
        push(format!("ring verify each ({threads} thr)"), t);
    }
    Ok(())
}

/// More distinct keys than the verifier's key cache holds by default, as a node meets them
/// when many accounts each sign once every few blocks: sets of `n` distinct-key items that
/// together hold four times [`DEFAULT_KEY_CACHE_SIZE`] keys (four sets in the full run) are
/// verified in turn, one set per call, so a key comes back only after the cache has seen at
/// least three times its capacity in other keys. The verifier is the builder's default, cache
/// policy included, timed after two passes over the sets; the dalek peer's keys are pre-parsed
/// for every set outside the timed region, as everywhere. A row is the median time of one
/// call.
fn bench_beyond_cache(
    n: usize,
    threads: usize,
    reps: usize,
    pool: &rayon::ThreadPool,
    rows: &mut Vec<Row>,
) -> Result<(), CliError> {
    let name = "distinct keys beyond the cache, all valid";
    let count = (4 * DEFAULT_KEY_CACHE_SIZE).div_ceil(n).max(4);
    note!(
        "bench: {name} ({count} sets of {n} items in turn, {} keys, {threads} threads)",
        count * n
    );
    let sets: Vec<Traffic> = (0..count as u64)
        .map(|k| traffic(pool, n, 0, 0.0, InvalidPlacement::Scattered, 0xCA_C4E0 + k))
        .collect();
    let items: Vec<Vec<SigItem<'_>>> = sets.iter().map(Traffic::items).collect();
    let engine = "blockverify zip215 (default key cache)";
    let verifier = Verifier::builder().threads(threads).build()?;
    // Two passes over every set before timing, as a node has made long before: the steady
    // state of the cache's policy (see `key_cache_size`), whose growth these passes may start.
    for _ in 0..2 {
        for (set, items) in sets.iter().zip(&items) {
            let report = verifier.verify_signatures(items);
            check_verdicts(engine, name, &report.invalid_indices(), &set.corrupted)?;
        }
    }
    let first = rows.len();
    let t = median_time_in_turn(reps, count, |k| {
        std::hint::black_box(verifier.verify_signatures(&items[k]));
    });
    rows.push(Row::measured(name, engine.into(), n, t));
    let peers: Vec<Peers<'_>> = items.iter().map(|items| Peers::new(items)).collect();
    let t = median_time_in_turn(reps, count, |k| {
        pool.install(|| std::hint::black_box(peers[k].dalek_batch(threads)));
    });
    rows.push(Row::measured(name, dalek_batch_engine(threads), n, t));
    let t = median_time_in_turn(reps, count, |k| {
        pool.install(|| std::hint::black_box(peers[k].zebra_batch(threads)));
    });
    rows.push(Row::measured(name, zebra_batch_engine(threads), n, t));
    note_rows(&rows[first..]);
    Ok(())
}

/// `sc`'s traffic verified as consecutive calls of `call` items each (small blocks, or a
/// mempool handing over a few hundred transactions at a time), every call on `threads`
/// threads; a row times the whole sequence, so its rate is over all of the scenario's items.
/// The peers run the same [`Peers`] methods as on one call, once per call's slice.
fn bench_calls(
    sc: &Scenario,
    call: usize,
    threads: usize,
    reps: usize,
    pool: &rayon::ThreadPool,
    rows: &mut Vec<Row>,
) -> Result<(), CliError> {
    let items = sc.traffic.items();
    let n = items.len();
    note!("bench: {} ({n} items, {threads} threads)", sc.name);
    let engine = "blockverify zip215 (key cache warm)";
    let verifier = Verifier::builder()
        .threads(threads)
        .key_cache_size(2 * n)
        .build()?;
    let invalid: Vec<usize> = items
        .chunks(call)
        .enumerate()
        .flat_map(|(c, chunk)| {
            let report = verifier.verify_signatures(chunk);
            report
                .invalid_indices()
                .into_iter()
                .map(move |i| c * call + i)
        })
        .collect();
    check_verdicts(engine, &sc.name, &invalid, &sc.traffic.corrupted)?;
    let first = rows.len();
    let t = median_time(reps, || {
        for chunk in items.chunks(call) {
            std::hint::black_box(verifier.verify_signatures(chunk));
        }
    });
    rows.push(Row::measured(&sc.name, engine.into(), n, t));
    let calls: Vec<Peers<'_>> = items.chunks(call).map(Peers::new).collect();
    let t = median_time(reps, || {
        pool.install(|| {
            for peers in &calls {
                std::hint::black_box(peers.dalek_batch(threads));
            }
        })
    });
    rows.push(Row::measured(&sc.name, dalek_batch_engine(threads), n, t));
    let t = median_time(reps, || {
        pool.install(|| {
            for peers in &calls {
                std::hint::black_box(peers.zebra_batch(threads));
            }
        })
    });
    rows.push(Row::measured(&sc.name, zebra_batch_engine(threads), n, t));
    note_rows(&rows[first..]);
    Ok(())
}

/// The engine name of the dalek batch peer's rows.
fn dalek_batch_engine(threads: usize) -> String {
    format!("ed25519-dalek verify_batch ({threads} thr, keys pre-parsed)")
}

/// The engine name of the zebra batch peer's rows.
fn zebra_batch_engine(threads: usize) -> String {
    format!("ed25519-zebra batch ({threads} thr)")
}

/// The name prefix of the `verify_strict` peer rows, which the table sets beside the
/// [`STRICT_ENGINE`] row of the same scenario.
const DALEK_STRICT_EACH: &str = "ed25519-dalek verify_strict each";

/// This crate's `Strict` row on the CPU.
const STRICT_ENGINE: &str = "blockverify strict";

/// The peer crates, with whatever they can pre-compute done outside the timed region.
struct Peers<'a> {
    items: &'a [SigItem<'a>],
    dalek_keys: Vec<Option<ed25519_dalek::VerifyingKey>>,
    /// Every key parsed, for `verify_batch` (`None` if one does not parse: the batch fails).
    dalek_batch_keys: Option<Vec<ed25519_dalek::VerifyingKey>>,
    dalek_sigs: Vec<ed25519_dalek::Signature>,
}

impl<'a> Peers<'a> {
    fn new(items: &'a [SigItem<'a>]) -> Self {
        let dalek_keys: Vec<_> = items
            .iter()
            .map(|i| ed25519_dalek::VerifyingKey::from_bytes(i.public_key).ok())
            .collect();
        Peers {
            items,
            dalek_batch_keys: dalek_keys.iter().copied().collect(),
            dalek_keys,
            dalek_sigs: items
                .iter()
                .map(|i| ed25519_dalek::Signature::from_bytes(i.signature))
                .collect(),
        }
    }

    /// Item `i` by dalek's `verify` (cofactorless, accepts small-order keys and `R`) or, with
    /// `strict`, `verify_strict` (rejects them: the rules Agave runs).
    fn dalek_one(&self, i: usize, strict: bool) -> bool {
        use ed25519_dalek::Verifier as _;
        let (message, signature) = (self.items[i].message, &self.dalek_sigs[i]);
        self.dalek_keys[i].as_ref().is_some_and(|k| {
            if strict {
                k.verify_strict(message, signature).is_ok()
            } else {
                k.verify(message, signature).is_ok()
            }
        })
    }

    fn dalek_each_serial(&self) -> usize {
        (0..self.items.len())
            .filter(|&i| self.dalek_one(i, false))
            .count()
    }

    fn dalek_each_parallel(&self) -> usize {
        (0..self.items.len())
            .into_par_iter()
            .filter(|&i| self.dalek_one(i, false))
            .count()
    }

    fn dalek_strict_each(&self) -> usize {
        (0..self.items.len())
            .into_par_iter()
            .filter(|&i| self.dalek_one(i, true))
            .count()
    }

    fn chunk(&self, threads: usize) -> usize {
        self.items.len().div_ceil(threads.max(1)).max(1)
    }

    fn dalek_batch(&self, threads: usize) -> bool {
        let chunk = self.chunk(threads);
        let Some(keys) = &self.dalek_batch_keys else {
            return false;
        };
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

/// Whether a row is a peer's (this crate's rows, and their indented breakdowns, are not).
fn is_peer(engine: &str) -> bool {
    !engine.starts_with("blockverify") && !engine.starts_with(' ')
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
            .filter(|r| &r.scenario == sc && is_peer(&r.engine))
            .filter(|r| !r.engine.contains("(1 thr)"))
            .map(|r| r.per_s)
            .fold(0.0, f64::max);
        // Breakdown rows (indented) are parts of a job, not a rate to compare.
        for r in rows
            .iter_mut()
            .filter(|r| &r.scenario == sc && !r.engine.starts_with(' '))
        {
            r.ratio = (reference > 0.0).then(|| r.per_s / reference);
        }
    }
    let width = |name: fn(&Row) -> &str, header: &str| {
        rows.iter()
            .map(|r| name(r).len())
            .fold(header.len(), usize::max)
    };
    let sw = width(|r| &r.scenario, "scenario");
    let ew = width(|r| &r.engine, "engine");
    println!(
        "{:<sw$} {:<ew$} {:>8} {:>12} {:>12} {:>8}",
        "scenario", "engine", "items", "median ms", "items/s", "ratio"
    );
    for r in &rows {
        println!(
            "{:<sw$} {:<ew$} {:>8} {:>12.2} {:>12.0} {:>8}",
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
    if scenarios.iter().any(|sc| sc.ends_with(&calls_label())) {
        println!(
            "{}: the scenario's items as consecutive calls, timed together; beyond the cache: one call per run, the key sets in turn.",
            calls_label()
        );
    }
    // The ratio column sets `Strict` against the best peer of any rules; this sets it against
    // the peer that checks the same rules.
    let rate = |sc: &str, engine: fn(&str) -> bool| {
        rows.iter()
            .find(|r| r.scenario == sc && engine(&r.engine))
            .map(|r| r.per_s)
    };
    let strict_over_peer: Vec<(&String, f64)> = scenarios
        .iter()
        .filter_map(|sc| {
            let strict = rate(sc, |e| e == STRICT_ENGINE)?;
            Some((sc, strict / rate(sc, |e| e.starts_with(DALEK_STRICT_EACH))?))
        })
        .collect();
    if !strict_over_peer.is_empty() {
        println!("{STRICT_ENGINE} / {DALEK_STRICT_EACH} (the same rules, the same threads):");
        for (sc, ratio) in strict_over_peer {
            println!("  {sc:<sw$} {ratio:>6.2}x");
        }
    }
}

mod blocks_bench;
pub mod merkle_bench;
mod plot;
mod progress;
mod sm2_bench;
mod sm3_bench;
mod sweep;

/// Prints `bench blocks` rows (ratios over the signature engine alone).
fn print_blocks(rows: &[Row]) {
    println!(
        "{:<52} {:<58} {:>8} {:>10} {:>11} {:>7}",
        "scenario", "engine", "records", "median ms", "records/s", "ratio"
    );
    for r in rows {
        println!(
            "{:<52} {:<58} {:>8} {:>10.1} {:>11.0} {:>7}",
            r.scenario,
            r.engine,
            r.items,
            r.median_s * 1e3,
            r.per_s,
            r.ratio.map_or("-".into(), |x| format!("{x:.2}x"))
        );
    }
    println!(
        "ratio: over the signature engine alone on the same records (the block target is >= 0.90x); medians."
    );
}
