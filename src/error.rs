//! The error types for misuse and unavailable resources.
//!
//! An invalid signature is *not* an error: it is a [`Verdict`](crate::Verdict) in a
//! [`SigReport`](crate::SigReport). [`Error`] is returned only where the caller asked for
//! something this build or this machine cannot give (a GPU that is not there, a thread pool
//! that cannot be created, an option out of range). Every kind is a variant a caller can
//! match; a `String` appears only as the detail of a kind (the operating system's or the
//! driver's own words), never in place of one.
#![forbid(unsafe_code)]

/// Why a [`Verifier`](crate::Verifier) could not be built or a request could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The GPU backend was requested but cannot be used; the value says why.
    #[error("GPU backend unavailable: {0}")]
    GpuUnavailable(GpuUnavailable),
    /// The worker thread pool could not be created; the text is the operating system's
    /// refusal (for example, too many threads for this process).
    #[error("could not create the worker thread pool: {0}")]
    ThreadPool(String),
    /// A builder option is out of its allowed range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(ConfigError),
    /// A Merkle job's leaves are not a tree of its scheme (a Bitcoin leaf that is not 32
    /// bytes), where a call reports Merkle input errors through this type.
    #[error(transparent)]
    Merkle(crate::merkle::MerkleError),
}

/// Why the GPU backend cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuUnavailable {
    /// This build of the library has no GPU backend (its `gpu` cargo feature is off).
    #[error("blockverify was built without its `gpu` feature")]
    NotBuilt,
    /// wgpu found no adapter on Vulkan, Metal or DX12.
    #[error(
        "no GPU adapter found (wgpu saw none on Vulkan, Metal or DX12; on Linux install a \
         Vulkan driver, e.g. mesa-vulkan-drivers and libvulkan1)"
    )]
    NoAdapter,
    /// An adapter was named (builder or environment) and none matches it.
    #[error("no GPU adapter's name contains {name:?}")]
    NoMatchingAdapter {
        /// The name asked for.
        name: String,
    },
    /// The only adapter is a CPU emulation (such as lavapipe), which [`Backend::Auto`]
    /// never uses on its own (the CPU engine is faster on the same cores).
    ///
    /// [`Backend::Auto`]: crate::Backend::Auto
    #[error(
        "the only adapter is a CPU emulation ({adapter}); Backend::Auto uses the CPU engine \
         instead (Backend::Gpu accepts it)"
    )]
    OnlySoftware {
        /// The emulated adapter's name.
        adapter: String,
    },
    /// The adapter's limits are below what the kernels need.
    #[error(
        "adapter {adapter} is too small for the kernels (needs 8 KiB workgroup memory and \
         256 invocations per workgroup)"
    )]
    AdapterTooSmall {
        /// The adapter's name.
        adapter: String,
    },
    /// The adapter refused to open a device, or the kernels failed to compile or to run
    /// their warm-up job on it (the driver's words in `detail`).
    #[error("could not open {adapter}: {detail}")]
    DeviceFailed {
        /// The adapter's name.
        adapter: String,
        /// What the driver or wgpu said.
        detail: String,
    },
    /// The verifier was built without a GPU (it is [`Backend::Cpu`], or
    /// [`Backend::Auto`] found none), and a GPU-only operation was asked of it.
    ///
    /// [`Backend::Cpu`]: crate::Backend::Cpu
    /// [`Backend::Auto`]: crate::Backend::Auto
    #[error("this verifier has no GPU")]
    NoGpuOnVerifier,
    /// A GPU-only operation (one without a CPU fallback) failed on the device.
    #[error("{0}")]
    Fault(GpuFault),
}

/// Which builder option is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// More worker threads than [`MAX_THREADS`](crate::MAX_THREADS).
    #[error("threads = {requested} exceeds the maximum of {max}")]
    TooManyThreads {
        /// The number asked for.
        requested: usize,
        /// The most accepted.
        max: usize,
    },
    /// A GPU storage binding limit under the minimum.
    #[error("gpu_binding_limit = {requested} is below the minimum of {min} bytes")]
    BindingLimitTooSmall {
        /// The limit asked for, in bytes.
        requested: u64,
        /// The least accepted.
        min: u64,
    },
}

/// What went wrong on the GPU when a job fell back to the CPU engine.
///
/// A GPU fault never changes a result: the job is redone on the CPU engine, and the result
/// (for example [`RootReport::gpu_fault`](crate::merkle::RootReport::gpu_fault)) carries the
/// fault so the caller can see that it happened and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum GpuFault {
    /// The device was lost (driver reset, GPU removed, or destroyed); the verifier opens it
    /// afresh on its next GPU job.
    #[error("GPU device lost")]
    DeviceLost,
    /// The device could not allocate a buffer.
    #[error("GPU out of memory")]
    OutOfMemory,
    /// The driver or wgpu rejected a command (a validation or internal error).
    #[error("GPU dispatch failed")]
    DispatchFailed,
    /// Reading results back from the device failed or timed out.
    #[error("GPU readback failed")]
    ReadbackFailed,
    /// The device could not be (re)opened.
    #[error("GPU unavailable")]
    Unavailable,
}
