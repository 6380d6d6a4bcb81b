//! [`Verifier`]: the one object a node builds, shares and calls.
#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

#[cfg(feature = "gpu")]
use crate::Placement;
use crate::engine::trees::CpuTrees;
#[cfg(feature = "gpu")]
use crate::engine::{TreeEngine, TreeFailure};
#[cfg(feature = "gpu")]
use crate::engine::{ed25519::GpuEd25519, sm2::GpuSm2, split, trees::GpuTrees};
#[cfg(feature = "gpu")]
use crate::gpu::{
    self, AdapterSummary, GpuContext, GpuOptions, KernelTiming, ShaderCompileTime, SigTiming,
};
use crate::merkle::{MerkleError, MerkleTree, RootReport, Scheme};
use crate::sig::sm2::{Sm2Item, engine::Sm2Engine};
use crate::sig::{CpuEngine, Policy, SigItem, SigReport};
use crate::task::Task;
use crate::{ConfigError, Error, GpuFault, GpuUnavailable};

/// Where a verifier may run its work: what the caller asks for. Where each job did run is
/// reported apart, as a [`Placement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
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

/// Default capacity of the decompressed-key cache, in keys (about 300 bytes each; the Ed25519
/// cache may grow to eight times this, see [`VerifierBuilder::key_cache_size`]).
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

/// The least [`VerifierBuilder::gpu_binding_limit`] accepted, in bytes.
const MIN_BINDING_LIMIT: u64 = 4096;

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
    sm2_lanes: bool,
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
            sm2_lanes: true,
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
    /// changes cost, never verdicts. The Ed25519 cache starts at this size and grows, up to
    /// eight times it, when its misses are of keys it evicted (traffic whose recurring keys
    /// outnumber it); a flood of one-off keys never grows it. The SM2 caches keep this size.
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

    /// Whether SM2 verification may use the AVX-512 IFMA lanes where the CPU has them (the
    /// default). Off, it runs the serial arithmetic alone, the lanes' twin: for benchmarks
    /// that show what the lanes add, and tests that compare the two. Verdicts are the same.
    #[doc(hidden)]
    pub fn sm2_lanes(mut self, allow: bool) -> Self {
        self.sm2_lanes = allow;
        self
    }

    /// Builds the verifier: creates its thread pool and, for [`Backend::Gpu`] and
    /// [`Backend::Auto`], opens the GPU (Auto quietly goes without one). [`Backend::Cpu`]
    /// never touches the GPU stack.
    ///
    /// # Errors
    /// [`Error::GpuUnavailable`] for `Backend::Gpu` without a usable adapter or without the
    /// `gpu` feature (the value says which); [`Error::InvalidConfig`] for more than
    /// [`MAX_THREADS`] threads or a binding limit under 4096 bytes; [`Error::ThreadPool`] if
    /// the OS refuses the threads.
    pub fn build(self) -> Result<Verifier, Error> {
        if self.threads > MAX_THREADS {
            return Err(Error::InvalidConfig(ConfigError::TooManyThreads {
                requested: self.threads,
                max: MAX_THREADS,
            }));
        }
        if self.gpu_binding_limit < MIN_BINDING_LIMIT {
            return Err(Error::InvalidConfig(ConfigError::BindingLimitTooSmall {
                requested: self.gpu_binding_limit,
                min: MIN_BINDING_LIMIT,
            }));
        }
        let cpu = CpuEngine::new(self.threads, self.key_cache_size)?;
        let sm2 = if self.sm2_lanes {
            Sm2Engine::new(self.key_cache_size)
        } else {
            Sm2Engine::with_lanes(self.key_cache_size, None)
        };
        #[cfg(feature = "gpu")]
        {
            let options = |allow_software| GpuOptions {
                adapter: self.gpu_adapter.clone(),
                binding_limit: self.gpu_binding_limit,
                allow_software,
            };
            let gpu = match self.backend {
                Backend::Cpu => None,
                Backend::Gpu => {
                    Some(GpuContext::open(options(true)).map_err(Error::GpuUnavailable)?)
                }
                Backend::Auto => GpuContext::open(options(self.auto_allows_software_gpu)).ok(),
            };
            Ok(Verifier {
                policy: self.policy,
                backend: self.backend,
                cpu,
                sm2,
                gpu,
                gpu_min_leaves: self.gpu_min_leaves,
                split: split::Calibration::default(),
                split_sm2: split::Calibration::default(),
            })
        }
        #[cfg(not(feature = "gpu"))]
        {
            if self.backend == Backend::Gpu {
                return Err(Error::GpuUnavailable(GpuUnavailable::NotBuilt));
            }
            let _ = (
                &self.gpu_adapter,
                self.gpu_min_leaves,
                self.auto_allows_software_gpu,
            );
            Ok(Verifier {
                policy: self.policy,
                backend: self.backend,
                cpu,
                sm2,
            })
        }
    }
}

/// Verifies signatures, Merkle roots and whole blocks, on CPU cores and a GPU.
///
/// Build one, wrap it in an `Arc`, and share it across threads: it is `Send + Sync`, and
/// calls from several threads run concurrently on its pool.
///
/// The verifier only chooses and splits: each algorithm family has a CPU engine and a GPU
/// engine of one shape, and the verifier decides per job which runs it (from the
/// [`Backend`] asked for and the job's size), splits signature batches between the two under
/// `Auto`, redoes a GPU fault on the CPU, and reports where the job ran ([`Placement`]).
///
/// **Determinism.** For a given [`Policy`], each item's verdict — valid, or the reason it is
/// not — depends on that item's bytes alone: never on batch size or order, its neighbours,
/// the backend, the thread count or the random batch coefficients. (Batch coefficients are
/// 128-bit and drawn fresh from a CSPRNG per call; a wrong "valid" would need a 2⁻¹²⁷ event.)
pub struct Verifier {
    policy: Policy,
    backend: Backend,
    cpu: CpuEngine,
    sm2: Sm2Engine,
    #[cfg(feature = "gpu")]
    gpu: Option<GpuContext>,
    #[cfg(feature = "gpu")]
    gpu_min_leaves: usize,
    #[cfg(feature = "gpu")]
    split: split::Calibration,
    /// `Auto`'s measurements of the SM2 engines (their rates are not Ed25519's).
    #[cfg(feature = "gpu")]
    split_sm2: split::Calibration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.policy)
            .field("backend", &self.backend)
            .field("gpu", &self.has_gpu())
            .field("threads", &self.threads())
            .finish()
    }
}

impl Verifier {
    /// Starts configuring a verifier.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// The default policy: the one [`Verifier::verify_signatures`] and
    /// [`Verifier::submit_signatures`] apply. [`Verifier::verify_ed25519`] takes a policy per
    /// call.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The backend this verifier was asked for. Whether it has a GPU is
    /// [`Verifier::has_gpu`] (`Auto` may have found none); where each job ran, its report's
    /// placement.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether this verifier opened a GPU (always for `Backend::Gpu`; for `Backend::Auto`
    /// when a hardware GPU was found).
    pub fn has_gpu(&self) -> bool {
        #[cfg(feature = "gpu")]
        return self.gpu.is_some();
        #[cfg(not(feature = "gpu"))]
        false
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

    /// Worker threads of the CPU engine.
    pub fn threads(&self) -> usize {
        self.cpu.threads()
    }

    /// Runs `f` on this verifier's thread pool.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.cpu.install(f)
    }

    /// Runs `job` on this verifier's pool; the handle waits or is awaited.
    pub(crate) fn spawn<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Task<T> {
        Task::spawn(self.cpu.pool(), job)
    }

    /// Verifies every item under the verifier's default policy ([`Verifier::policy`]); see
    /// [`Verifier::verify_ed25519`].
    pub fn verify_signatures(&self, items: &[SigItem<'_>]) -> SigReport {
        self.verify_ed25519(self.policy, items)
    }

    /// Verifies every item under `policy` and returns one verdict per item, in input order.
    /// The policy is chosen per call (a block declares its own), on the same pool.
    ///
    /// Where: [`Backend::Cpu`] on the CPU engine; [`Backend::Gpu`] on the GPU;
    /// [`Backend::Auto`] with a GPU splits the batch — the first share on the GPU, the rest on
    /// the CPU engine at the same time, the share sized from both engines' measured
    /// throughput so that they finish together ([`SigReport::placement`] and
    /// [`SigReport::gpu_items`] say how many went where). If the GPU fails (device lost, out
    /// of memory, …) the CPU engine verifies its share, and [`SigReport::gpu_fault`] says so.
    /// The verdicts are the same in every case.
    ///
    /// Cost on the CPU engine: under `Zip215`, about one 128-bit scalar multiplication per
    /// item plus one full-size scalar multiplication per distinct key per chunk; a batch
    /// containing bad items costs more (bad items are located by a search in small groups),
    /// but never more than a small constant times checking each item alone. Under `Strict`,
    /// one double-scalar multiplication per item. On the GPU every item costs one
    /// double-scalar multiplication whatever its verdict. An empty slice gives an empty,
    /// all-valid report.
    pub fn verify_ed25519(&self, policy: Policy, items: &[SigItem<'_>]) -> SigReport {
        #[cfg(feature = "gpu")]
        {
            let gpu = |context| GpuEd25519 {
                context,
                pool: &self.cpu,
            };
            if let Some(report) = self.with_gpu(&self.cpu, gpu, policy, items, &self.split) {
                return report;
            }
        }
        SigReport::from_verdicts(self.cpu.verify(policy, items))
    }

    /// Verifies SM2 signatures (GB/T 32918.2; the rules and their order: [`crate::sig::sm2`]):
    /// one verdict per item, in input order, each the first check that failed. On the CPU
    /// engine items are verified one by one in parallel on this verifier's pool, with the
    /// issuers' keys, their default-ID `Z_A` and (for frequent issuers) their precomputed
    /// tables in the key cache ([`VerifierBuilder::key_cache_size`]); verdicts never depend
    /// on the cache.
    ///
    /// Where, as for [`Verifier::verify_ed25519`]: [`Backend::Cpu`] on the CPU engine;
    /// [`Backend::Gpu`] on the GPU (checks 1–5 and the digests on the pool with the CPU
    /// engine's code and key cache, the joint sum and checks 6–7 on the device);
    /// [`Backend::Auto`] with a GPU splits the batch, sized from both engines' measured rates
    /// (SM2's own, apart from Ed25519's). A GPU fault is redone on the CPU engine and reported
    /// in [`SigReport::gpu_fault`]. The verdicts are the same in every case. An empty slice
    /// gives an empty, all-valid report.
    pub fn verify_sm2(&self, items: &[Sm2Item<'_>]) -> SigReport {
        #[cfg(feature = "gpu")]
        {
            let gpu = |context| GpuSm2 {
                context,
                pool: &self.cpu,
                engine: &self.sm2,
            };
            if let Some(report) = self.with_gpu(&self.sm2, gpu, (), items, &self.split_sm2) {
                return report;
            }
        }
        SigReport::from_verdicts(self.install(|| self.sm2.verify(items)))
    }

    /// A signature batch on the GPU, or split between the GPU and `cpu` (see
    /// [`Verifier::verify_ed25519`]), as this verifier's backend and `split`'s measurements
    /// say; `None` when the CPU engine takes it all (no GPU, an empty batch, or a share too
    /// small for the GPU).
    #[cfg(feature = "gpu")]
    fn with_gpu<'v, Item, Cpu, Gpu>(
        &'v self,
        cpu: &Cpu,
        gpu: impl FnOnce(&'v GpuContext) -> Gpu,
        rules: Cpu::Rules,
        items: &[Item],
        split: &split::Calibration,
    ) -> Option<SigReport>
    where
        Item: Sync,
        Cpu: crate::engine::SignatureEngine<Item>,
        Gpu: crate::engine::DeviceEngine<Item, Rules = Cpu::Rules>,
    {
        let context = self.gpu.as_ref().filter(|_| !items.is_empty())?;
        let gpu_items = match self.backend {
            Backend::Gpu => items.len(),
            _ => split.gpu_share(items.len()),
        };
        if gpu_items == 0 {
            return None;
        }
        let gpu = gpu(context);
        let calibration = (self.backend == Backend::Auto).then_some(split);
        Some(self.install(|| split::verify_split(cpu, &gpu, rules, items, gpu_items, calibration)))
    }

    /// Every item on the GPU with the job's two halves timed, for the benchmark hooks.
    #[cfg(feature = "gpu")]
    fn gpu_profiled<'v, Item, Gpu>(
        &'v self,
        gpu: impl FnOnce(&'v GpuContext) -> Gpu,
        rules: Gpu::Rules,
        items: &[Item],
    ) -> Result<(SigReport, SigTiming), Error>
    where
        Item: Sync,
        Gpu: crate::engine::DeviceEngine<Item>,
    {
        let context = self
            .gpu
            .as_ref()
            .ok_or(Error::GpuUnavailable(GpuUnavailable::NoGpuOnVerifier))?;
        let (verdicts, timing) = gpu(context).verify_timed(rules, items);
        let verdicts =
            verdicts.map_err(|fault| Error::GpuUnavailable(GpuUnavailable::Fault(fault)))?;
        let report = SigReport::from_verdicts(verdicts).on(items.len(), None);
        Ok((report, timing))
    }

    /// Starts verifying `batch` under the default policy on this verifier's pool and returns
    /// at once; [`PendingSignatures::wait`] (or `.await`) gives the batch back with its
    /// report. The pipelined form of [`Verifier::verify_signatures`], with the same verdicts:
    /// while one batch is on the GPU the next one's challenges are hashed and packed on the
    /// CPU, so a node that submits block N+1 before waiting for block N keeps the device
    /// busy. No thread is created per call; batches submitted together run concurrently.
    pub fn submit_signatures(self: &Arc<Self>, batch: SigBatch) -> PendingSignatures {
        let verifier = Arc::clone(self);
        PendingSignatures {
            task: self.spawn(move || {
                let report = verifier.verify_signatures(&batch.items());
                (batch, report)
            }),
        }
    }

    /// The GPU's share of a tree job of `leaves` leaves: all of it under `Backend::Gpu`, under
    /// `Auto` trees of at least [`VerifierBuilder::gpu_min_leaves`].
    #[cfg(feature = "gpu")]
    fn gpu_trees_for(&self, leaves: usize) -> Option<GpuTrees<'_>> {
        let context = self.gpu.as_ref()?;
        (self.backend == Backend::Gpu || leaves >= self.gpu_min_leaves)
            .then_some(GpuTrees { context })
    }

    fn cpu_trees(&self) -> CpuTrees<'_> {
        CpuTrees { pool: &self.cpu }
    }

    /// The Merkle root of `leaves` under `scheme`: on the GPU when this verifier sends the
    /// job there (see [`Backend`]), else on this verifier's pool and the fastest SHA-256 path
    /// of this CPU. Either way the same root [`merkle::merkle_root`](crate::merkle::merkle_root)
    /// computes; a GPU fault makes the CPU redo the job, and the report says so
    /// ([`RootReport::gpu_fault`]).
    ///
    /// # Errors
    /// [`MerkleError::InvalidLeafLength`] for a Bitcoin leaf that is not 32 bytes.
    pub fn merkle_root<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<RootReport, MerkleError> {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = self.gpu_trees_for(leaves.len()) {
            match gpu.root(scheme, leaves) {
                Ok(report) => return Ok(report),
                Err(TreeFailure::Input(e)) => return Err(e),
                Err(TreeFailure::Device(fault)) => {
                    crate::trace::gpu_fault("merkle root", fault, leaves.len());
                    return Ok(self
                        .cpu_trees()
                        .build_root(scheme, leaves)?
                        .on(Placement::Cpu, Some(fault)));
                }
            }
        }
        self.cpu_trees().build_root(scheme, leaves)
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
        if let Some(gpu) = self.gpu_trees_for(leaves.len()) {
            match gpu.tree(scheme, leaves) {
                Ok(tree) => return Ok(tree),
                Err(TreeFailure::Input(e)) => return Err(e),
                Err(TreeFailure::Device(fault)) => {
                    crate::trace::gpu_fault("merkle tree", fault, leaves.len());
                    return Ok(self
                        .cpu_trees()
                        .build_tree(scheme, leaves)?
                        .on(Placement::Cpu, Some(fault)));
                }
            }
        }
        self.cpu_trees().build_tree(scheme, leaves)
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

    /// Benchmark hook (not stable API): the root of `leaves` on the GPU with each pass timed
    /// (timestamp queries where the adapter has them; the job is serialised to read them).
    /// No fallback: a fault is returned as an error.
    ///
    /// # Errors
    /// [`GpuUnavailable::NoGpuOnVerifier`] without a GPU, [`GpuUnavailable::Fault`] on a
    /// fault, [`Error::Merkle`] for leaves that are not a tree of the scheme.
    #[cfg(feature = "gpu")]
    #[doc(hidden)]
    pub fn gpu_merkle_root_profiled<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
        profile: bool,
    ) -> Result<(RootReport, KernelTiming), Error> {
        let context = self
            .gpu
            .as_ref()
            .ok_or(Error::GpuUnavailable(GpuUnavailable::NoGpuOnVerifier))?;
        (GpuTrees { context })
            .root_timed(scheme, leaves, profile)
            .map_err(|failure| match failure {
                TreeFailure::Input(e) => Error::Merkle(e),
                TreeFailure::Device(fault) => Error::GpuUnavailable(GpuUnavailable::Fault(fault)),
            })
    }

    /// Benchmark hook (not stable API): every item on the GPU under the default policy, with
    /// the two halves of the job timed: packing (hashing each challenge `k` on this
    /// verifier's pool) and the device's part (upload, kernels, readback). No fallback.
    ///
    /// # Errors
    /// [`GpuUnavailable::NoGpuOnVerifier`] without a GPU, [`GpuUnavailable::Fault`] on a
    /// fault.
    #[cfg(feature = "gpu")]
    #[doc(hidden)]
    pub fn gpu_verify_signatures_profiled(
        &self,
        items: &[SigItem<'_>],
    ) -> Result<(SigReport, SigTiming), Error> {
        let gpu = |context| GpuEd25519 {
            context,
            pool: &self.cpu,
        };
        self.gpu_profiled(gpu, self.policy, items)
    }

    /// Benchmark hook (not stable API): every SM2 item on the GPU, with the two halves of the
    /// job timed: packing (checks 1–5 and the digests on this verifier's pool) and the
    /// device's part (upload, kernel, readback). No fallback.
    ///
    /// # Errors
    /// [`GpuUnavailable::NoGpuOnVerifier`] without a GPU, [`GpuUnavailable::Fault`] on a
    /// fault.
    #[cfg(feature = "gpu")]
    #[doc(hidden)]
    pub fn gpu_verify_sm2_profiled(
        &self,
        items: &[Sm2Item<'_>],
    ) -> Result<(SigReport, SigTiming), Error> {
        let gpu = |context| GpuSm2 {
            context,
            pool: &self.cpu,
            engine: &self.sm2,
        };
        self.gpu_profiled(gpu, (), items)
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

/// A batch submitted with [`Verifier::submit_signatures`], running on the verifier's pool:
/// wait for it ([`PendingSignatures::wait`]) or `.await` it (it is a [`Future`] on any async
/// runtime; the pool thread that finishes the job wakes the task).
#[derive(Debug)]
#[must_use = "the verification runs anyway; its report is only in this handle"]
pub struct PendingSignatures {
    task: Task<(SigBatch, SigReport)>,
}

impl PendingSignatures {
    /// Waits for the verification to finish; returns the batch (to be cleared and reused) and
    /// its report.
    pub fn wait(self) -> (SigBatch, SigReport) {
        self.task.wait()
    }

    /// Whether the verification has finished (so [`PendingSignatures::wait`] will not block).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Future for PendingSignatures {
    type Output = (SigBatch, SigReport);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}
