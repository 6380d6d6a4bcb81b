//! The unrolled build of the GPU field arithmetic (the build a hardware GPU without `SHADER_INT64` gets; see
//! `blockverify::gpu::FIELD_CODE_ENV`) against the CPU engine. CI's lavapipe offers
//! `SHADER_INT64` and so gets the int64 build by default; this binary forces the unrolled one,
//! so every build of the kernel is tested on every run.
//!
//! One test only: it sets the environment variable before any verifier exists, and no other
//! thread of this binary reads the environment meanwhile.
#![cfg(feature = "gpu")]

mod common;

#[test]
fn unrolled_field_build_gives_the_cpu_engines_verdicts() {
    // SAFETY: the only test of this binary, run before any verifier (or other thread that
    // could read the environment) exists.
    unsafe { common::field_build::field_build_gives_the_cpu_engines_verdicts("unrolled") };
}
