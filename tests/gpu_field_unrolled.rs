//! The unrolled build of the GPU field arithmetic — the build a hardware GPU gets (see
//! `blockverify::gpu::FIELD_CODE_ENV`) — against the CPU engine, on whatever adapter wgpu
//! finds. CI has only lavapipe, which gets the compact build by default; this binary forces
//! the unrolled one there, so both builds of the kernel are tested on every run.
//!
//! One test only: it sets the environment variable before any verifier exists, and no other
//! thread of this binary reads the environment meanwhile.
#![cfg(feature = "gpu")]

mod common;

use blockverify::{Backend, SigItem, Verifier, verify_single};
use common::edge_data::{POLICIES, load_cases};
use common::{KINDS, Owned, make_item, require_gpu};

#[test]
fn unrolled_field_build_gives_the_cpu_engines_verdicts() {
    // SAFETY: the only test of this binary, run before any verifier (or other thread that
    // could read the environment) exists.
    unsafe { std::env::set_var(blockverify::gpu::FIELD_CODE_ENV, "unrolled") };
    let cases = load_cases();
    let mixed: Vec<Owned> = (0..400u64)
        .map(|i| make_item((i % u64::from(KINDS)) as u8, 7000 + i))
        .collect();
    let items: Vec<SigItem<'_>> = cases
        .iter()
        .map(|c| c.item())
        .chain(mixed.iter().map(Owned::item))
        .collect();
    for policy in POLICIES {
        let gpu = match Verifier::builder()
            .policy(policy)
            .backend(Backend::Gpu)
            .build()
        {
            Ok(v) => v,
            Err(e) if !require_gpu() => {
                eprintln!("SKIP GPU test: {e} (set BLOCKVERIFY_REQUIRE_GPU=1 to make this fail)");
                return;
            }
            Err(e) => panic!("BLOCKVERIFY_REQUIRE_GPU=1 but no GPU backend: {e}"),
        };
        let report = gpu.verify_signatures(&items);
        assert_eq!(report.gpu_fault(), None);
        assert_eq!(report.backend(), Backend::Gpu);
        assert_eq!(
            gpu.gpu_compile_time().and_then(|c| c.ed25519_field),
            Some("unrolled")
        );
        for (i, item) in items.iter().enumerate() {
            assert_eq!(
                report.verdict(i),
                Some(verify_single(policy, item)),
                "{policy:?} item {i} ({})",
                cases.get(i).map_or("random mix", |c| c.name.as_str())
            );
        }
        assert!(report.valid_count() > 0 && report.invalid_count() > 0);
    }
}
