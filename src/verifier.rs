//! [`Verifier`]: the one object a node builds, shares and calls.
#![forbid(unsafe_code)]

use std::sync::Arc;
#[cfg(feature = "gpu")]
use std::sync::Mutex;
#[cfg(feature = "gpu")]
use std::time::{Duration, Instant};

#[cfg(feature = "gpu")]
use crate::gpu::{
    self, AdapterSummary, GpuContext, GpuOptions, KernelTiming, ShaderCompileTime, SigTiming, lock,
};
use crate::merkle::{self, MerkleError, MerkleTree, RootReport, Scheme};
use crate::sig::{CpuEngine, Policy, SigItem, SigReport};
use crate::{Error, GpuFault};

/// Where the work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Backend {
    /// The best available: the CPU engine, and a hardware GPU (never a CPU emulation) when
    /// one is found — for Merkle trees of at least [`VerifierBuilder::gpu_min_leaves`] leaves,
    /// and for a share of every signature batch of at least [`AUTO_GPU_MIN_SIGNATURES`]
    /// items, sized from the measured throughput of both so that they finish together (see
    /// [`Verifier::verify_signatures`]).
    #[default]
    Auto,
    /// CPU cores only (SIMD + rayon).
    Cpu,
    /// A GPU through wgpu (any adapter, a CPU emulation such as lavapipe included) for every
    /// signature batch and every Merkle job; [`VerifierBuilder::build`] fails with
    /// [`Error::GpuUnavailable`] when there is none or the crate was built without the `gpu`
    /// feature.
    Gpu,
}

impl Backend {
    /// The backend's name as the CLI spells it (`auto`, `cpu`, `gpu`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            other => Err(format!(
                "unknown backend '{other}' (expected auto, cpu or gpu)"
            )),
        }
    }
}

/// Default capacity of the decompressed-key cache, in keys (about 200 bytes each).
pub const DEFAULT_KEY_CACHE_SIZE: usize = 16_384;
/// The most worker threads a builder accepts.
pub const MAX_THREADS: usize = 4096;
/// Default of [`VerifierBuilder::gpu_min_leaves`]: under [`Backend::Auto`], Merkle trees
/// smaller than this stay on the CPU.
///
/// 2^17 leaves: the CPU engine builds that many 32-byte leaves in about 4 ms on two cores
/// (BENCHMARKS.md), which is where a discrete GPU's fixed costs (a submission, a readback,
/// about 0.1 ms each, plus 4 MiB over PCIe) become small beside the work. This is an estimate
/// until it is measured on a hardware GPU; `blockverify bench merkle` prints the crossover
/// on the machine at hand, and a node can set its own.
pub const DEFAULT_GPU_MIN_LEAVES: usize = 1 << 17;

/// Under [`Backend::Auto`], the smallest share of a signature batch worth sending to the GPU:
/// below it the fixed costs of a submission and a readback (about 0.1 ms on a discrete GPU,
/// the time two cores take for some 30 signatures) are not worth paying, and such a batch
/// stays on the CPU engine.
pub const AUTO_GPU_MIN_SIGNATURES: usize = 1024;

/// Configures a [`Verifier`]. Obtain one from [`Verifier::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    policy: Policy,
    backend: Backend,
    threads: usize,
    key_cache_size: usize,
    gpu_adapter: Option<String>,
    gpu_binding_limit: u64,
    gpu_min_leaves: usize,
    auto_allows_software_gpu: bool,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        VerifierBuilder {
            policy: Policy::default(),
            backend: Backend::default(),
            threads: 0,
            key_cache_size: DEFAULT_KEY_CACHE_SIZE,
            gpu_adapter: None,
            gpu_binding_limit: 128 << 20,
            gpu_min_leaves: DEFAULT_GPU_MIN_LEAVES,
            auto_allows_software_gpu: false,
        }
    }
}

impl VerifierBuilder {
    /// The signature validity rules (default [`Policy::Zip215`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Where to run (default [`Backend::Auto`]).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Worker threads for the CPU engine; `0` (the default) means one per available core.
    /// The verifier owns its pool, so several verifiers do not share or starve each other's.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Capacity of the decompressed-public-key cache, in keys; `0` disables it. The cache
    /// changes cost, never verdicts.
    pub fn key_cache_size(mut self, keys: usize) -> Self {
        self.key_cache_size = keys;
        self
    }

    /// The GPU adapter to use: any adapter whose name contains `name`, ignoring case. Without
    /// this the environment variable `BLOCKVERIFY_GPU_ADAPTER` is consulted, then the best
    /// adapter is taken (see [`crate::gpu`]).
    pub fn gpu_adapter(mut self, name: impl Into<String>) -> Self {
        self.gpu_adapter = Some(name.into());
        self
    }

    /// The largest storage binding the GPU kernels use, in bytes (default 128 MiB, at least
    /// 4096; clamped to the adapter's limit). Trees larger than one binding are hashed in
    /// pieces; a smaller limit means more pieces and less device memory.
    pub fn gpu_binding_limit(mut self, bytes: u64) -> Self {
        self.gpu_binding_limit = bytes;
        self
    }

    /// Under [`Backend::Auto`], the fewest leaves a Merkle tree needs to go to the GPU
    /// (default [`DEFAULT_GPU_MIN_LEAVES`]). [`Backend::Gpu`] sends every tree.
    pub fn gpu_min_leaves(mut self, leaves: usize) -> Self {
        self.gpu_min_leaves = leaves;
        self
    }

    /// Lets [`Backend::Auto`] use a CPU emulation of a GPU (lavapipe), which it otherwise never
    /// does. For tests of the split on machines without a GPU; it makes no sense in a node.
    #[doc(hidden)]
    pub fn auto_allows_software_gpu(mut self, allow: bool) -> Self {
        self.auto_allows_software_gpu = allow;
        self
    }

    /// Builds the verifier: creates its thread pool and, for [`Backend::Gpu`] and
    /// [`Backend::Auto`], opens the GPU (Auto quietly goes without one).
    ///
    /// # Errors
    /// [`Error::GpuUnavailable`] for `Backend::Gpu` without a usable adapter (the text says
    /// why) or without the `gpu` feature, [`Error::InvalidConfig`] for more than
    /// [`MAX_THREADS`] threads or a binding limit under 4096 bytes, [`Error::ThreadPool`] if
    /// the OS refuses the threads.
    pub fn build(self) -> Result<Verifier, Error> {
        if self.threads > MAX_THREADS {
            return Err(Error::InvalidConfig(format!(
                "threads = {} exceeds the maximum of {MAX_THREADS}",
                self.threads
            )));
        }
        if self.gpu_binding_limit < 4096 {
            return Err(Error::InvalidConfig(format!(
                "gpu_binding_limit = {} is below the minimum of 4096 bytes",
                self.gpu_binding_limit
            )));
        }
        let cpu = CpuEngine::new(self.policy, self.threads, self.key_cache_size)?;
        #[cfg(feature = "gpu")]
        {
            let options = |allow_software| GpuOptions {
                adapter: self.gpu_adapter.clone(),
                binding_limit: self.gpu_binding_limit,
                allow_software,
            };
            let (backend, gpu) = match self.backend {
                Backend::Cpu => (Backend::Cpu, None),
                Backend::Gpu => {
                    let context = GpuContext::open(options(true)).map_err(Error::GpuUnavailable)?;
                    (Backend::Gpu, Some(context))
                }
                Backend::Auto => match GpuContext::open(options(self.auto_allows_software_gpu)) {
                    Ok(context) => (Backend::Auto, Some(context)),
                    Err(_) => (Backend::Cpu, None),
                },
            };
            Ok(Verifier {
                policy: self.policy,
                backend,
                cpu,
                gpu,
                gpu_min_leaves: self.gpu_min_leaves,
                split: Mutex::new(SplitCalibration::default()),
            })
        }
        #[cfg(not(feature = "gpu"))]
        {
            if self.backend == Backend::Gpu {
                return Err(Error::GpuUnavailable(
                    "blockverify was built without its `gpu` feature".into(),
                ));
            }
            let _ = (&self.gpu_adapter, self.gpu_min_leaves);
            Ok(Verifier {
                policy: self.policy,
                backend: Backend::Cpu,
                cpu,
            })
        }
    }
}

/// Verifies signatures, Merkle roots and whole blocks, on CPU cores and a GPU.
///
/// Build one, wrap it in an `Arc`, and share it across threads: it is `Send + Sync`, and
/// calls from several threads run concurrently on its pool.
///
/// **Determinism.** For a given [`Policy`], each item's verdict — valid, or the reason it is
/// not — depends on that item's bytes alone: never on batch size or order, its neighbours,
/// the backend, the thread count or the random batch coefficients. (Batch coefficients are
/// 128-bit and drawn fresh from a CSPRNG per call; a wrong "valid" would need a 2⁻¹²⁷ event.)
pub struct Verifier {
    policy: Policy,
    backend: Backend,
    cpu: CpuEngine,
    #[cfg(feature = "gpu")]
    gpu: Option<GpuContext>,
    #[cfg(feature = "gpu")]
    gpu_min_leaves: usize,
    #[cfg(feature = "gpu")]
    split: Mutex<SplitCalibration>,
}

/// What [`Backend::Auto`] has measured of its two engines, for sizing each batch's GPU share.
///
/// Rates are items per second of wall time, each engine measured while the other runs beside
/// it (the GPU's rate includes hashing and packing on the CPU pool and the round trip), and
/// smoothed over batches: `new = (old + measured) / 2`, so the split follows a change of load
/// within a few batches. Until both are measured the batch is split in half. A batch that
/// gives the GPU nothing measures nothing, so while the GPU's share is under the minimum every
/// [`AUTO_REPROBE_EVERY`]th batch large enough gives it the minimum anyway: if the GPU got
/// faster (or the CPU busier) the split finds out.
#[cfg(feature = "gpu")]
#[derive(Debug, Default, Clone, Copy)]
struct SplitCalibration {
    cpu_rate: f64,
    gpu_rate: f64,
    /// Batches in a row that gave the GPU nothing.
    starved: u32,
}

/// See [`SplitCalibration`]: one batch in this many re-measures a GPU whose share fell to
/// nothing (at most one slow batch in 32 when the GPU really is slower).
#[cfg(feature = "gpu")]
const AUTO_REPROBE_EVERY: u32 = 32;

#[cfg(feature = "gpu")]
impl SplitCalibration {
    /// The GPU's share of `n` items: proportional to its rate, so both finish together;
    /// nothing when that share is under [`AUTO_GPU_MIN_SIGNATURES`].
    fn gpu_share(&mut self, n: usize) -> usize {
        let fraction = if self.cpu_rate > 0.0 && self.gpu_rate > 0.0 {
            self.gpu_rate / (self.gpu_rate + self.cpu_rate)
        } else {
            0.5
        };
        let share = ((n as f64 * fraction).round() as usize).min(n);
        if share >= AUTO_GPU_MIN_SIGNATURES {
            self.starved = 0;
            return share;
        }
        if n < 2 * AUTO_GPU_MIN_SIGNATURES {
            // Too small to split at all: the CPU engine's, and no evidence either way.
            return 0;
        }
        self.starved += 1;
        if self.starved >= AUTO_REPROBE_EVERY {
            self.starved = 0;
            AUTO_GPU_MIN_SIGNATURES
        } else {
            0
        }
    }

    fn record(&mut self, cpu: (usize, Duration), gpu: (usize, Duration)) {
        fn blend(old: f64, (items, time): (usize, Duration)) -> f64 {
            let measured = items as f64 / time.as_secs_f64().max(1e-9);
            if old > 0.0 {
                (old + measured) / 2.0
            } else {
                measured
            }
        }
        self.cpu_rate = blend(self.cpu_rate, cpu);
        self.gpu_rate = blend(self.gpu_rate, gpu);
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.policy)
            .field("backend", &self.backend)
            .field("threads", &self.threads())
            .finish()
    }
}

impl Verifier {
    /// Starts configuring a verifier.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// The policy every call of this verifier applies.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The backend in use: `Cpu` (asked for, or `Auto` found no hardware GPU), `Auto` (a
    /// hardware GPU takes large Merkle trees and a share of large signature batches) or `Gpu`.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The GPU adapter this verifier opened, if any.
    #[cfg(feature = "gpu")]
    pub fn gpu_adapter(&self) -> Option<&AdapterSummary> {
        self.gpu.as_ref().map(GpuContext::adapter)
    }

    /// How long the GPU took to compile this crate's shaders when this verifier opened it
    /// (`None` without a GPU).
    #[cfg(feature = "gpu")]
    pub fn gpu_compile_time(&self) -> Option<ShaderCompileTime> {
        self.gpu.as_ref().and_then(GpuContext::compile_time)
    }

    /// The GPU context when this job should run on it.
    #[cfg(feature = "gpu")]
    fn gpu_for(&self, leaves: usize) -> Option<&GpuContext> {
        let gpu = self.gpu.as_ref()?;
        (self.backend == Backend::Gpu || leaves >= self.gpu_min_leaves).then_some(gpu)
    }

    /// Makes this verifier's next GPU job fail for real: `DeviceLost` destroys the device (as a
    /// driver reset would), anything else submits a dispatch the driver must reject. For
    /// tests of the CPU fallback; returns false when there is no GPU.
    #[doc(hidden)]
    pub fn inject_gpu_fault(&self, fault: GpuFault) -> bool {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = &self.gpu {
            gpu.inject(match fault {
                GpuFault::DeviceLost => gpu::InjectedFault::DeviceLost,
                _ => gpu::InjectedFault::InvalidDispatch,
            });
            return true;
        }
        let _ = fault;
        false
    }

    /// The root of `leaves` on the GPU with each pass timed (timestamp queries where the
    /// adapter has them; the job is serialised to read them), for benchmarks. No fallback:
    /// a fault is returned as an error.
    ///
    /// # Errors
    /// [`Error::GpuUnavailable`] without a GPU, or with the fault's description;
    /// [`Error::InvalidConfig`] for an invalid Bitcoin leaf.
    #[cfg(feature = "gpu")]
    pub fn gpu_merkle_root_profiled<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
        profile: bool,
    ) -> Result<(RootReport, KernelTiming), Error> {
        let gpu = self
            .gpu
            .as_ref()
            .ok_or_else(|| Error::GpuUnavailable("this verifier has no GPU".into()))?;
        check_leaves(scheme, leaves).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let (root, duplicate, timing) = gpu
            .merkle_root(scheme, leaves, profile)
            .map_err(|fault| Error::GpuUnavailable(fault.to_string()))?;
        let report = RootReport::new(root, leaves.len() as u64, duplicate).on(Backend::Gpu, None);
        Ok((report, timing))
    }

    /// Verifies every item on the GPU, with the two halves of the job timed, for
    /// benchmarks: packing (hashing each challenge `k` on this verifier's pool) and the
    /// device's part (upload, kernels, readback). No fallback: a fault is returned as an
    /// error. The verdicts are those of [`Verifier::verify_signatures`].
    ///
    /// # Errors
    /// [`Error::GpuUnavailable`] without a GPU, or with the fault's description.
    #[cfg(feature = "gpu")]
    pub fn gpu_verify_signatures_profiled(
        &self,
        items: &[SigItem<'_>],
    ) -> Result<(SigReport, SigTiming), Error> {
        let gpu = self
            .gpu
            .as_ref()
            .ok_or_else(|| Error::GpuUnavailable("this verifier has no GPU".into()))?;
        let (verdicts, timing) = self.gpu_verdicts(gpu, items);
        let verdicts = verdicts.map_err(|fault| Error::GpuUnavailable(fault.to_string()))?;
        let report = SigReport::from_verdicts(verdicts).on(items.len(), None);
        Ok((report, timing))
    }

    /// The GPU's verdicts for `items`: challenges hashed and packed on this verifier's pool,
    /// then the kernel; each half timed. A readback of the wrong length is a fault (it would
    /// misalign every verdict after it).
    #[cfg(feature = "gpu")]
    fn gpu_verdicts(
        &self,
        gpu: &GpuContext,
        items: &[SigItem<'_>],
    ) -> (Result<Vec<crate::Verdict>, GpuFault>, SigTiming) {
        let started = Instant::now();
        let mut packed = Vec::new();
        self.cpu
            .install(|| gpu::sig::pack_items(items, &mut packed));
        let pack = started.elapsed();
        let started = Instant::now();
        let verdicts = gpu.verify_packed(self.policy, &packed).and_then(|v| {
            if v.len() == items.len() {
                Ok(v)
            } else {
                Err(GpuFault::ReadbackFailed)
            }
        });
        let device = started.elapsed();
        (verdicts, SigTiming { pack, device })
    }

    /// Worker threads of the CPU engine.
    pub fn threads(&self) -> usize {
        self.cpu.threads()
    }

    /// Runs `f` on this verifier's thread pool.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.cpu.install(f)
    }

    /// Verifies every item and returns one verdict per item, in input order.
    ///
    /// Where: [`Backend::Cpu`] on the CPU engine; [`Backend::Gpu`] on the GPU;
    /// [`Backend::Auto`] with a GPU splits the batch — the first share on the GPU, the rest on
    /// the CPU engine at the same time, the share sized from both engines' measured
    /// throughput so that they finish together ([`SigReport::gpu_items`] says how many went
    /// where). If the GPU fails (device lost, out of memory, …) the CPU engine verifies its
    /// share, and [`SigReport::gpu_fault`] says so. The verdicts are the same in every case.
    ///
    /// Cost on the CPU engine: under `Zip215`, about one 128-bit scalar multiplication per
    /// item plus one full-size scalar multiplication per distinct key per chunk of up to 1024
    /// items; a batch containing bad items costs more (bad items are located by bisection),
    /// but never more than a small constant times checking each item alone. Under `Strict`,
    /// one double-scalar multiplication per item. On the GPU every item costs one
    /// double-scalar multiplication whatever its verdict. An empty slice gives an empty,
    /// all-valid report.
    pub fn verify_signatures(&self, items: &[SigItem<'_>]) -> SigReport {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = &self.gpu
            && !items.is_empty()
        {
            let gpu_items = match self.backend {
                Backend::Gpu => items.len(),
                _ => lock(&self.split).gpu_share(items.len()),
            };
            if gpu_items > 0 {
                return self.verify_split(gpu, items, gpu_items);
            }
        }
        SigReport::from_verdicts(self.cpu.verify(items))
    }

    /// The first `gpu_items` items on the GPU while the CPU engine takes the rest.
    #[cfg(feature = "gpu")]
    fn verify_split(&self, gpu: &GpuContext, items: &[SigItem<'_>], gpu_items: usize) -> SigReport {
        let (gpu_part, cpu_part) = items.split_at(gpu_items);
        let (gpu_result, gpu_time, cpu_result) = std::thread::scope(|scope| {
            let cpu_job = (!cpu_part.is_empty()).then(|| {
                scope.spawn(|| {
                    let started = Instant::now();
                    let verdicts = self.cpu.verify(cpu_part);
                    (verdicts, started.elapsed())
                })
            });
            let (result, timing) = self.gpu_verdicts(gpu, gpu_part);
            let gpu_time = timing.pack + timing.device;
            let cpu_result = cpu_job.map(|job| {
                job.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (result, gpu_time, cpu_result)
        });
        let (cpu_verdicts, cpu_time) = cpu_result.unwrap_or_default();
        match gpu_result {
            Ok(mut verdicts) => {
                if self.backend == Backend::Auto && !cpu_part.is_empty() {
                    lock(&self.split)
                        .record((cpu_part.len(), cpu_time), (gpu_part.len(), gpu_time));
                }
                verdicts.extend(cpu_verdicts);
                SigReport::from_verdicts(verdicts).on(gpu_items, None)
            }
            Err(fault) => {
                let mut verdicts = self.cpu.verify(gpu_part);
                verdicts.extend(cpu_verdicts);
                SigReport::from_verdicts(verdicts).on(0, Some(fault))
            }
        }
    }

    /// Starts verifying `batch` and returns at once; [`PendingSignatures::wait`] gives the
    /// report (and the batch back, to be refilled). The pipelined form of
    /// [`Verifier::verify_signatures`], with the same verdicts: while one batch is on the GPU
    /// the next one's challenges are hashed and packed on the CPU, so a node that submits
    /// block N+1 before waiting for block N keeps the device busy. Batches submitted together
    /// run concurrently; each handle returns its own batch's report.
    pub fn submit_signatures(self: &Arc<Self>, batch: SigBatch) -> PendingSignatures {
        let verifier = Arc::clone(self);
        PendingSignatures {
            handle: std::thread::spawn(move || {
                let report = verifier.verify_signatures(&batch.items());
                (batch, report)
            }),
        }
    }

    /// The Merkle root of `leaves` under `scheme`: on the GPU when this verifier sends the
    /// job there (see [`Backend`]), else on this verifier's pool and the fastest SHA-256 path
    /// of this CPU. Either way the same root [`merkle::merkle_root`] computes; a GPU fault
    /// makes the CPU redo the job, and the report says so ([`RootReport::gpu_fault`]).
    ///
    /// # Errors
    /// [`MerkleError::InvalidLeafLength`] for a Bitcoin leaf that is not 32 bytes.
    pub fn merkle_root<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<RootReport, MerkleError> {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = self.gpu_for(leaves.len()) {
            check_leaves(scheme, leaves)?;
            // Called on this thread, not on the pool: the job spends its time waiting for the
            // device, and a pool worker blocked on it would be a core lost to the CPU work
            // (signatures) that may run beside it.
            return match gpu.merkle_root(scheme, leaves, false) {
                Ok((root, duplicate, _)) => {
                    Ok(
                        RootReport::new(root, leaves.len() as u64, duplicate)
                            .on(Backend::Gpu, None),
                    )
                }
                Err(fault) => Ok(self
                    .cpu
                    .install(|| merkle::merkle_root(scheme, leaves))?
                    .on(Backend::Cpu, Some(fault))),
            };
        }
        self.cpu.install(|| merkle::merkle_root(scheme, leaves))
    }

    /// Builds a [`MerkleTree`] (every level kept, for proofs): on the GPU when this verifier
    /// sends the job there (levels up to one storage binding's worth come back from the
    /// device; the few above are hashed on the CPU), else on this verifier's pool. A GPU fault
    /// makes the CPU redo the build ([`MerkleTree::gpu_fault`]).
    ///
    /// # Errors
    /// As [`Verifier::merkle_root`].
    pub fn merkle_tree<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<MerkleTree, MerkleError> {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = self.gpu_for(leaves.len()) {
            check_leaves(scheme, leaves)?;
            return match gpu.merkle_levels(scheme, leaves) {
                Ok((levels, duplicate)) => {
                    Ok(MerkleTree::from_lower_levels(scheme, levels, duplicate))
                }
                Err(fault) => Ok(self
                    .cpu
                    .install(|| MerkleTree::build(scheme, leaves))?
                    .on(Backend::Cpu, Some(fault))),
            };
        }
        self.cpu.install(|| MerkleTree::build(scheme, leaves))
    }
}

/// A batch of signatures that owns its bytes, for the pipelined
/// [`Verifier::submit_signatures`]: keys, signatures and messages are copied in (one
/// allocation each, reused when the batch is cleared and refilled).
#[derive(Debug, Clone, Default)]
pub struct SigBatch {
    keys: Vec<[u8; 32]>,
    signatures: Vec<[u8; 64]>,
    messages: Vec<u8>,
    message_ends: Vec<usize>,
}

impl SigBatch {
    /// An empty batch.
    pub fn new() -> Self {
        SigBatch::default()
    }

    /// Appends one item (copied).
    pub fn push(&mut self, public_key: &[u8; 32], signature: &[u8; 64], message: &[u8]) {
        self.keys.push(*public_key);
        self.signatures.push(*signature);
        self.messages.extend_from_slice(message);
        self.message_ends.push(self.messages.len());
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the batch has no items.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Removes every item, keeping the allocations.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.signatures.clear();
        self.messages.clear();
        self.message_ends.clear();
    }

    /// The items, borrowed from the batch, in the order they were pushed.
    pub fn items(&self) -> Vec<SigItem<'_>> {
        let starts = std::iter::once(0).chain(self.message_ends.iter().copied());
        self.keys
            .iter()
            .zip(&self.signatures)
            .zip(starts.zip(&self.message_ends))
            .map(|((key, signature), (start, &end))| {
                SigItem::new(key, signature, &self.messages[start..end])
            })
            .collect()
    }
}

impl<'a> Extend<SigItem<'a>> for SigBatch {
    fn extend<T: IntoIterator<Item = SigItem<'a>>>(&mut self, items: T) {
        for item in items {
            self.push(item.public_key, item.signature, item.message);
        }
    }
}

/// A batch submitted with [`Verifier::submit_signatures`].
#[derive(Debug)]
pub struct PendingSignatures {
    handle: std::thread::JoinHandle<(SigBatch, SigReport)>,
}

impl PendingSignatures {
    /// Waits for the verification to finish; returns the batch (to be cleared and reused) and
    /// its report.
    pub fn wait(self) -> (SigBatch, SigReport) {
        self.handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Whether the verification has finished (so [`PendingSignatures::wait`] will not block).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// Leaves the GPU may hash: every Bitcoin leaf is a 32-byte txid (the first that is not is
/// reported as the CPU engine reports it).
#[cfg(feature = "gpu")]
fn check_leaves<L: AsRef<[u8]>>(scheme: Scheme, leaves: &[L]) -> Result<(), MerkleError> {
    let bad = leaves
        .iter()
        .enumerate()
        .find(|(_, l)| scheme == Scheme::Bitcoin && l.as_ref().len() != 32);
    match bad {
        Some((index, leaf)) => Err(MerkleError::InvalidLeafLength {
            index,
            len: leaf.as_ref().len(),
        }),
        None => Ok(()),
    }
}

#[cfg(all(test, feature = "gpu"))]
mod split_tests {
    use super::*;

    #[test]
    fn first_batch_is_halved_then_the_split_follows_measured_rates() {
        let mut split = SplitCalibration::default();
        assert_eq!(split.gpu_share(10_000), 5_000);
        // CPU 3x as fast as the GPU: the GPU gets a quarter.
        split.record(
            (5_000, Duration::from_millis(100)),
            (5_000, Duration::from_millis(300)),
        );
        assert_eq!(split.gpu_share(10_000), 2_500);
        // Below the minimum share: nothing, and small batches are never split.
        assert_eq!(split.gpu_share(3_000), 0);
        assert_eq!(split.gpu_share(1_000), 0);
    }

    #[test]
    fn a_starved_gpu_is_remeasured_every_so_often() {
        let mut split = SplitCalibration {
            cpu_rate: 1_000_000.0,
            gpu_rate: 1_000.0,
            starved: 0,
        };
        let shares: Vec<usize> = (0..2 * AUTO_REPROBE_EVERY)
            .map(|_| split.gpu_share(100_000))
            .collect();
        let probes: Vec<usize> = (0..shares.len()).filter(|&i| shares[i] > 0).collect();
        assert_eq!(
            probes,
            [
                AUTO_REPROBE_EVERY as usize - 1,
                2 * AUTO_REPROBE_EVERY as usize - 1
            ]
        );
        assert!(probes.iter().all(|&i| shares[i] == AUTO_GPU_MIN_SIGNATURES));
        // The probe found a faster GPU: the split follows.
        split.record(
            (99_000, Duration::from_millis(100)),
            (1_024, Duration::from_micros(1_024)),
        );
        assert!(split.gpu_share(100_000) > AUTO_GPU_MIN_SIGNATURES);
    }
}
