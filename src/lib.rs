//! # blockverify
//!
//! Clears blocks of signed ledger records — e-invoices, e-certificates, evidence deposits —
//! by verifying every Ed25519 signature with exact, deterministic per-item verdicts and every
//! Merkle root, in parallel across CPU cores and GPUs.
//!
//! ```
//! use blockverify::{Backend, Policy, SigItem, Verdict, Verifier};
//! use blockverify::workload::SigningKey;
//!
//! # fn main() -> Result<(), blockverify::Error> {
//! // One verifier per node, shared across threads (it is Send + Sync).
//! let verifier = Verifier::builder()
//!     .policy(Policy::Zip215)   // the default; Policy::Strict = dalek's verify_strict
//!     .backend(Backend::Cpu)
//!     .threads(0)               // 0 = every core
//!     .build()?;
//!
//! let issuer = SigningKey::from_seed(&[7; 32]);
//! let pk = issuer.public_key();
//! let records: Vec<Vec<u8>> = (0..100u32).map(|i| format!("invoice #{i}").into_bytes()).collect();
//! let mut sigs: Vec<[u8; 64]> = records.iter().map(|m| issuer.sign(m)).collect();
//! sigs[42][0] ^= 1; // corrupt one
//!
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
//!   times checking each alone.
//! * No input makes the library panic.
//!
//! See the [`sig`] module for the validity rules of each policy.
//!
//! ## Merkle trees
//!
//! The [`merkle`] module computes RFC 9162 and Bitcoin roots (also through
//! [`Verifier::merkle_root`]), serves and verifies inclusion and consistency proofs, and keeps
//! append-only logs, with SHA-256 hashed many messages at a time ([`merkle::sha256`]).
//!
//! ## GPUs
//!
//! With the default feature `gpu`, a verifier built with [`Backend::Gpu`] (or [`Backend::Auto`]
//! on a machine with a hardware GPU) computes Merkle roots and trees with WGSL compute shaders
//! through wgpu, bit-identical to the CPU engine; a GPU fault is redone on the CPU and
//! reported ([`GpuFault`]). See the [`gpu`] module.
//!
//! ## `unsafe`
//!
//! Only the SHA-256 SIMD kernels (`merkle::sha256::{shani, avx2, avx512, lanes}`) and the
//! Ed25519 AVX-512 IFMA lanes (`sig::ifma`) use `unsafe`: CPU intrinsics behind run-time
//! feature detection, unaligned loads inside fixed-size arrays, and `[u64; 8]` ↔ `__m512i`
//! transmutes, each with its safety argument. Everything else is `deny(unsafe_code)`.
//!
//! ## Performance
//!
//! Build with `--cfg curve25519_dalek_backend="avx512"` on CPUs with AVX-512 IFMA (see
//! README.md). Figures, with peers measured in the same run, are in BENCHMARKS.md.

#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod block;
mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod merkle;
pub mod sig;
mod verifier;


pub use error::{Error, GpuFault};
pub use sig::{Policy, Reason, SigItem, SigReport, Verdict, verify_single};
/// The README's Rust example, compiled and run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use verifier::{
    AUTO_GPU_MIN_SIGNATURES, Backend, DEFAULT_GPU_MIN_LEAVES, DEFAULT_KEY_CACHE_SIZE, MAX_THREADS,
    PendingSignatures, SigBatch, Verifier, VerifierBuilder,
};
