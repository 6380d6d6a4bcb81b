//! # blockverify-testkit
//!
//! Synthetic signed ledger traffic for `blockverify`'s demo, benchmarks and tests, kept out of
//! the library a node links:
//!
//! - [`SigningKey`]: a small RFC 8032 Ed25519 signer, deterministic by seed. It exposes its
//!   secret scalar so tests can hand-build signatures over altered keys and nonces, which is
//!   exactly why it does not live in the verification library.
//! - [`Sm2SigningKey`]: an SM2 signer (RustCrypto `sm2`, default user ID), deterministic by
//!   seed, with the key as blocks carry it (`x ‖ y`).
//! - [`Workload`]: batches of signed records from Zipf-distributed issuers, with a chosen
//!   fraction corrupted, scattered or in one run ([`InvalidPlacement`]).
//! - [`block`]: whole blocks in the library's reference format
//!   ([`blockverify::block`]), Ed25519 or SM2, with chosen corruptions.
//!
//! Not for protecting real keys: seeds are predictable and the signer is not hardened beyond
//! what curve25519-dalek provides.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod block;
pub mod mixed;
mod sm2_signer;
mod workload;

pub use block::{BlockSpec, Corruption as BlockCorruption, GeneratedBlock, generate_block};
pub use sm2_signer::Sm2SigningKey;
pub use workload::{Corruption, InvalidPlacement, SigningKey, Workload, WorkloadSpec};
