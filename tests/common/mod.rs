//! Shared helpers for the integration tests: item construction and the peer oracles.
#![allow(dead_code, unused_imports)]

pub mod edge_data;
pub mod field_build;
pub mod sm2_corpus;

use blockverify::Policy;
pub use blockverify_testkit::mixed::{
    KINDS, L_BYTES, Owned, add_l, add256, challenge, make_item, secret_scalar,
};

/// `ed25519-zebra` 5 single verification, the definition of `Zip215`; a key that does not
/// decode is invalid.
pub fn zebra_valid(pk: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    ed25519_zebra::VerificationKey::try_from(*pk)
        .and_then(|vk| vk.verify(&ed25519_zebra::Signature::from_bytes(sig), msg))
        .is_ok()
}

/// `ed25519-dalek` 3 `verify_strict`, the definition of `Strict`; a key that does not decode
/// is invalid.
pub fn dalek_strict_valid(pk: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(pk)
        .and_then(|vk| vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig)))
        .is_ok()
}

/// The peer crate that defines `policy`'s verdict.
pub fn oracle_valid(policy: Policy, pk: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    match policy {
        Policy::Zip215 => zebra_valid(pk, sig, msg),
        Policy::Strict => dalek_strict_valid(pk, sig, msg),
        other => panic!("no oracle for policy {other:?}"),
    }
}

pub fn oracle(policy: Policy, o: &Owned) -> bool {
    oracle_valid(policy, &o.pk, &o.sig, &o.msg)
}

/// Whether a missing GPU adapter must fail the GPU tests (`.ci/run` sets
/// `BLOCKVERIFY_REQUIRE_GPU=1`) rather than skip them.
pub fn require_gpu() -> bool {
    std::env::var("BLOCKVERIFY_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// A verifier on the CPU engine alone, the reference the GPU and block tests compare with.
pub fn cpu_verifier(policy: Policy) -> blockverify::Verifier {
    blockverify::Verifier::builder()
        .policy(policy)
        .backend(blockverify::Backend::Cpu)
        .build()
        .expect("the CPU engine always builds")
}
