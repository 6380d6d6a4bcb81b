//! The GPU backend: a wgpu device context and the Merkle kernels that run on it.
//!
//! Built with the default-on cargo feature `gpu`. A [`Verifier`](crate::Verifier) built with
//! [`Backend::Gpu`](crate::Backend::Gpu) or [`Backend::Auto`](crate::Backend::Auto) opens one
//! device when it is built and keeps it: shader pipelines are compiled once, buffers are
//! pooled and reused across calls, and jobs on one verifier take turns on its device.
//!
//! ## Choosing an adapter
//!
//! The best adapter wgpu finds on Vulkan, Metal or DX12 (discrete GPU, then integrated, then
//! virtual, then a CPU emulation such as Mesa's lavapipe), unless one is named: by
//! [`VerifierBuilder::gpu_adapter`](crate::VerifierBuilder::gpu_adapter), or else by the
//! environment variable [`ADAPTER_ENV`]; a name matches any adapter whose name contains it,
//! ignoring case. [`list_adapters`] (and `blockverify info`) shows what is there.
//! [`Backend::Auto`](crate::Backend::Auto) never picks a CPU emulation on its own: on a
//! machine without a real GPU it is the CPU engine, which is faster than emulating a GPU on
//! the same cores.
//!
//! ## How a tree is hashed (shaders/*.wgsl)
//!
//! * `merkle_leaf.wgsl` hashes RFC 9162 leaves, SHA-256(0x00 ‖ record), one invocation per
//!   record, from one packed buffer of records and a table of offsets (records of any length
//!   at any byte alignment).
//! * `merkle_reduce.wgsl` climbs up to nine levels per dispatch inside a workgroup: 256
//!   invocations take 512 nodes, hash them pairwise into workgroup memory, and keep halving
//!   there, so a level never goes back to device memory until nine levels are done. 2^24
//!   leaves reach the root in three dispatches. Bitcoin's duplicate pairs are recorded with an
//!   atomic minimum per level, so the report names the same pair as the CPU engine.
//! * Hash values stay in the eight big-endian state words SHA-256 produces, which is exactly
//!   the word order the parent's message block needs: nothing is byte-swapped between levels.
//!
//! ## Trees larger than a storage binding
//!
//! A shader sees at most one storage binding (128 MiB unless configured with
//! [`VerifierBuilder::gpu_binding_limit`](crate::VerifierBuilder::gpu_binding_limit)). The
//! leaves are cut into aligned pieces of `2^k` leaves, `2^k` hashes filling one binding; each
//! piece's records go up in batches no larger than a binding (a single record larger than a
//! binding is hashed by the CPU engine and its hash uploaded), each piece is reduced to its
//! subtree root on the device, and the few piece roots are combined on the CPU by the same code
//! that combines the CPU engine's subtrees. Aligned pieces are the tree's own subtrees, so
//! the split never changes a root. While the device works on one piece the CPU packs the
//! next; at most two pieces are in flight.
//!
//! ## Faults
//!
//! Every job runs inside wgpu error scopes and watches the device-lost callback. A lost
//! device, an allocation failure, a rejected dispatch or a failed readback ends the GPU job
//! with a [`GpuFault`](crate::GpuFault); the verifier redoes the job on the CPU engine, returns
//! the same root, and says in the result that it fell back. A lost device is reopened on the
//! next GPU job.
#![forbid(unsafe_code)]

mod context;
mod field_code;
mod merkle;
pub(crate) mod sig;
pub use field_code::FIELD_CODE_ENV;

pub use context::{
    ADAPTER_ENV, AdapterSummary, DEFAULT_BINDING_LIMIT, ShaderCompileTime, list_adapters,
};
pub(crate) use context::{GpuContext, GpuOptions, InjectedFault};
pub use merkle::KernelTiming;
pub use sig::SigTiming;
