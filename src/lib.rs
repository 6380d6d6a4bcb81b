//! # blockverify
//!
//! Clears blocks of signed ledger records — e-invoices, e-certificates, evidence deposits —
//! by verifying every Ed25519 signature with exact, deterministic per-item verdicts and every
//! Merkle root, in parallel across CPU cores and GPUs.
//!
//! ```
//! use blockverify::{Backend, Policy, SigItem, Verdict, Verifier};
//! # use blockverify_testkit::SigningKey; // test traffic: your records arrive signed
//!
//! # fn main() -> Result<(), blockverify::Error> {
//! // One verifier per node, shared across threads (it is Send + Sync).
//! let verifier = Verifier::builder()
//!     .policy(Policy::Zip215)   // the default; Policy::Strict = dalek's verify_strict
//!     .backend(Backend::Cpu)
//!     .threads(0)               // 0 = every core
//!     .build()?;
//!
//! # let issuer = SigningKey::from_seed(&[7; 32]);
//! # let pk: [u8; 32] = issuer.public_key();
//! let records: Vec<Vec<u8>> = (0..100u32).map(|i| format!("invoice #{i}").into_bytes()).collect();
//! # let mut sigs: Vec<[u8; 64]> = records.iter().map(|m| issuer.sign(m)).collect();
//! # sigs[42][0] ^= 1; // corrupt one
//! // `pk` is the issuer's 32-byte key, `sigs[i]` the 64-byte signature on `records[i]`.
//! // Items borrow from the caller's buffers: no copies.
//! let items: Vec<SigItem> = records
//!     .iter()
//!     .zip(&sigs)
//!     .map(|(m, s)| SigItem::new(&pk, s, m))
//!     .collect();
//! let report = verifier.verify_signatures(&items);
//!
//! assert!(!report.all_valid());
//! assert_eq!(report.invalid_indices(), vec![42]);
//! assert!(matches!(report.verdict(42), Some(Verdict::Invalid(_))));
//! assert_eq!(report.valid_count(), 99);
//! # Ok(())
//! # }
//! ```
//!
//! ## What is guaranteed
//!
//! * **Exact verdicts**: one [`Verdict`] per item, in input order, with the [`Reason`] of the
//!   first check that failed. Batch verification is used only where it is exactly equivalent
//!   to checking each item alone ([`Policy::Zip215`]); failing batches are searched until every
//!   bad item is named.
//! * **Determinism**: an item's verdict depends on its bytes and the policy, never on batch
//!   size, neighbours, order, thread count, backend or randomness. [`verify_single`] is the
//!   reference every fast path is tested against.
//! * **Bounded cost under attack**: a batch of bad signatures costs at most a small constant
//!   times checking each alone; hostile keys cannot evict honest issuers' cached keys.
//! * No input makes the library panic.
//!
//! See the [`sig`] module for the validity rules of each policy.
//!
//! ## What is stable
//!
//! The semver promise covers every item this documentation shows: [`Verifier`] and its
//! builder, the signature items, verdicts and reports ([`sig`]), the Merkle trees and proofs
//! ([`merkle`]), the reference block format ([`block`]), the GPU adapter information
//! ([`gpu`], with the `gpu` feature), the error types, [`Placement`] and the constants at the
//! root. `api/public-api.txt` in the repository lists it item by item, and CI fails when the
//! code and the list differ.
//!
//! Not covered: items hidden from this documentation (`#[doc(hidden)]`) — the module
//! `unstable` and what it re-exports (SIMD path selection, per-pass GPU timings, reference
//! twins), which exist for this project's benchmarks, CLI and tests and may change in any
//! release; and the exact speed of anything.
//!
//! Enums a caller must handle completely are exhaustive ([`Verdict`]: valid or invalid, and
//! never anything else); enums that will grow are `#[non_exhaustive]` ([`Reason`]: other
//! algorithms add reasons; [`Error`], [`Backend`], [`Placement`], …).
//!
//! ## Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `gpu` | yes | the GPU backend (wgpu compute shaders on Vulkan, Metal or DX12): [`Backend::Gpu`], and [`Backend::Auto`] using a hardware GPU when there is one. Off, `Backend::Gpu` is refused with [`GpuUnavailable::NotBuilt`] and no wgpu is compiled. |
//! | `serde` | no | `Serialize`/`Deserialize` for [`Verdict`], [`Reason`] (stable snake_case codes, [`Reason::code`]), [`Policy`], [`Backend`], [`Placement`], [`GpuFault`]; `Serialize` for [`SigReport`] and the block reports. |
//! | `tracing` | no | spans per block and per block stage, and events for GPU faults and their CPU redo, a device reopened, the `Auto` split, and the `Zip215` engine's switch to single checks under dense failures (target `blockverify`). |
//!
//! The command-line tool, the benchmark peers and the synthetic traffic are separate packages
//! of the same repository (`blockverify-cli`, `blockverify-testkit`): a node that depends on
//! this crate compiles none of them.
//!
//! ## Merkle trees
//!
//! The [`merkle`] module computes RFC 9162 and Bitcoin roots (also through
//! [`Verifier::merkle_root`]), serves and verifies inclusion and consistency proofs, and keeps
//! append-only logs, with SHA-256 hashed many messages at a time.
//!
//! ## GPUs
//!
//! With the default feature `gpu`, a verifier built with [`Backend::Gpu`] (or [`Backend::Auto`]
//! on a machine with a hardware GPU) verifies Ed25519 signatures and computes Merkle roots and
//! trees with WGSL compute shaders through wgpu, with verdicts and roots identical to the CPU
//! engine's; `Auto` splits each large signature batch between the GPU and the cores so that
//! both finish together. A GPU fault is redone on the CPU and reported ([`GpuFault`]). See
//! the [`gpu`] module.
//!
//! ## `unsafe`
//!
//! Only the SIMD hash kernels (`merkle::simd` and `merkle::{sha256, sm3}::{shani, avx2,
//! avx512, lanes}`) and the
//! Ed25519 AVX-512 IFMA lanes (`sig::ifma`) use `unsafe`: CPU intrinsics, unaligned loads
//! inside fixed-size arrays, and `[u64; 8]` ↔ `__m512i` transmutes, each with its safety
//! argument. Each SIMD path is reachable only through a zero-sized token that its run-time
//! detection makes (no public variant or constructor names one), so safe code cannot run an
//! instruction the CPU lacks. Everything else is `forbid(unsafe_code)`.
//!
//! ## Performance
//!
//! Build with `--cfg curve25519_dalek_backend="avx512"` on CPUs with AVX-512 IFMA (see
//! README.md). Figures, with peers measured in the same run, are in BENCHMARKS.md.

#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod block;
mod engine;
mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod merkle;
mod placement;
pub mod sig;
mod task;
mod trace;
mod verifier;

pub use error::{ConfigError, Error, GpuFault, GpuUnavailable};
pub use placement::Placement;
pub use sig::sm2::{Sm2Item, Sm2Message, Sm2Signature};
pub use sig::{Policy, Reason, SigItem, SigReport, Verdict, verify_single};
/// The README's Rust examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use verifier::{
    AUTO_GPU_MIN_SIGNATURES, Backend, DEFAULT_GPU_MIN_LEAVES, DEFAULT_KEY_CACHE_SIZE, MAX_THREADS,
    PendingSignatures, SigBatch, Verifier, VerifierBuilder,
};

/// Hooks for this project's benchmarks, CLI and tests. **Not part of the stable API**: no
/// semver promise covers anything reached through this module, and it may change in any
/// release.
///
/// SIMD path selection ([`unstable::Sha256Platform`] and [`unstable::Sm3Platform`] are opaque
/// tokens from run-time detection: they cannot name a path the CPU lacks;
/// [`unstable::HashPaths`] pairs them for a tree), single-threaded and reference roots,
/// per-level hashing, the SHA-NI throughput probe, and per-pass GPU timings.
#[doc(hidden)]
pub mod unstable {
    pub use crate::merkle::sha256::{Platform as Sha256Platform, sha_ni_bound};
    pub use crate::merkle::sm3::{Platform as Sm3Platform, sm3};
    pub use crate::merkle::{
        HashPaths, SUBTREE_LEAVES, hash_level, hash_level_into, merkle_root_reference,
        merkle_root_with,
    };

    #[cfg(feature = "gpu")]
    pub use crate::gpu::{FIELD_CODE_ENV, KernelTiming, SigTiming};

    /// Whether this CPU runs the AVX-512 IFMA lanes (the Ed25519 and SM2 engines use them).
    pub fn cpu_has_ifma() -> bool {
        crate::sig::cpu_has_ifma()
    }
}
