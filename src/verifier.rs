//! [`Verifier`]: the one object a node builds, shares and calls.

use crate::Error;
use crate::merkle::{self, MerkleError, MerkleTree, RootReport, Scheme};
use crate::sig::{CpuEngine, Policy, SigItem, SigReport};

/// Where the work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Backend {
    /// The best available: today the CPU engine; GPUs join when the GPU backend lands, for
    /// the batch sizes where they pay off.
    #[default]
    Auto,
    /// CPU cores only (SIMD + rayon).
    Cpu,
    /// A GPU through wgpu. Not yet available in this release: [`VerifierBuilder::build`]
    /// returns [`Error::GpuUnavailable`].
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

/// Configures a [`Verifier`]. Obtain one from [`Verifier::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    policy: Policy,
    backend: Backend,
    threads: usize,
    key_cache_size: usize,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        VerifierBuilder {
            policy: Policy::default(),
            backend: Backend::default(),
            threads: 0,
            key_cache_size: DEFAULT_KEY_CACHE_SIZE,
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

    /// Builds the verifier: creates its thread pool and, for [`Backend::Gpu`], would open the
    /// device.
    ///
    /// # Errors
    /// [`Error::GpuUnavailable`] for `Backend::Gpu` (no GPU backend in this release),
    /// [`Error::InvalidConfig`] for more than [`MAX_THREADS`] threads,
    /// [`Error::ThreadPool`] if the OS refuses the threads.
    pub fn build(self) -> Result<Verifier, Error> {
        if self.threads > MAX_THREADS {
            return Err(Error::InvalidConfig(format!(
                "threads = {} exceeds the maximum of {MAX_THREADS}",
                self.threads
            )));
        }
        let backend = match self.backend {
            Backend::Gpu => {
                return Err(Error::GpuUnavailable(
                    "this release has no GPU backend yet; use Backend::Cpu or Backend::Auto".into(),
                ));
            }
            Backend::Auto | Backend::Cpu => Backend::Cpu,
        };
        Ok(Verifier {
            policy: self.policy,
            backend,
            cpu: CpuEngine::new(self.policy, self.threads, self.key_cache_size)?,
        })
    }
}

/// Verifies signatures (and, in later releases, Merkle roots and whole blocks).
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

    /// The backend actually in use (`Auto` resolves to a concrete one at build time).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Worker threads of the CPU engine.
    pub fn threads(&self) -> usize {
        self.cpu.threads()
    }

    /// Verifies every item and returns one verdict per item, in input order.
    ///
    /// Cost: under `Zip215`, about one 128-bit scalar multiplication per item plus one
    /// full-size scalar multiplication per distinct key per chunk of up to 1024 items; a
    /// batch containing bad items costs more (bad items are located by bisection), but never
    /// more than a small constant times checking each item alone. Under `Strict`, one
    /// double-scalar multiplication per item. An empty slice gives an empty, all-valid report.
    pub fn verify_signatures(&self, items: &[SigItem<'_>]) -> SigReport {
        SigReport::from_verdicts(self.cpu.verify(items))
    }

    /// The Merkle root of `leaves` under `scheme`, on this verifier's pool and the fastest
    /// SHA-256 path of this CPU; the same root [`merkle::merkle_root`] computes.
    ///
    /// # Errors
    /// [`MerkleError::InvalidLeafLength`] for a Bitcoin leaf that is not 32 bytes.
    pub fn merkle_root<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<RootReport, MerkleError> {
        self.cpu.install(|| merkle::merkle_root(scheme, leaves))
    }

    /// Builds a [`MerkleTree`] (every level kept, for proofs) on this verifier's pool.
    ///
    /// # Errors
    /// As [`Verifier::merkle_root`].
    pub fn merkle_tree<L: AsRef<[u8]> + Sync>(
        &self,
        scheme: Scheme,
        leaves: &[L],
    ) -> Result<MerkleTree, MerkleError> {
        self.cpu.install(|| MerkleTree::build(scheme, leaves))
    }
}
