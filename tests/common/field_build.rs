//! One forced build of the GPU field arithmetic against the CPU engine: every Ed25519 edge
//! case and 400 mixed items under both policies, and the SM2 corpus (`sm2_corpus`), on
//! whatever adapter wgpu finds. Used by the test binaries
//! `gpu_field_*.rs`, one build each (the build is chosen through an environment variable read
//! when a verifier opens its device, so each binary sets it once, before any verifier exists).
#![cfg(feature = "gpu")]

use blockverify::sig::sm2::verify_sm2_single;
use blockverify::{Backend, Placement, SigItem, Sm2Item, Verifier, verify_single};

use super::edge_data::{POLICIES, load_cases};
use super::{KINDS, Owned, make_item, require_gpu};

/// Sets `BLOCKVERIFY_GPU_FIELD` to `build` and checks that the Ed25519 and SM2 kernels
/// compiled in that build give every item the verdict of `verify_single` /
/// `verify_sm2_single`.
///
/// # Safety
/// Call it once, as the only test of its binary: it sets an environment variable, which is
/// sound only while no other thread reads the environment.
pub unsafe fn field_build_gives_the_cpu_engines_verdicts(build: &str) {
    // SAFETY: the caller promises no other thread exists that could read the environment.
    unsafe { std::env::set_var(blockverify::gpu::FIELD_CODE_ENV, build) };
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
        assert_eq!(report.placement(), Placement::Gpu);
        assert_eq!(
            gpu.gpu_compile_time().and_then(|c| c.ed25519_field),
            Some(build)
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
    let owned = super::sm2_corpus::corpus(300, 0x5_3203);
    let items: Vec<Sm2Item<'_>> = owned.iter().map(|o| o.item()).collect();
    let gpu = Verifier::builder()
        .backend(Backend::Gpu)
        .build()
        .expect("the adapter the Ed25519 part used");
    let report = gpu.verify_sm2(&items);
    assert_eq!(report.gpu_fault(), None);
    assert_eq!(report.placement(), Placement::Gpu);
    assert_eq!(
        gpu.gpu_compile_time().and_then(|c| c.sm2_field),
        Some(build)
    );
    for (i, item) in items.iter().enumerate() {
        assert_eq!(
            report.verdict(i),
            Some(verify_sm2_single(item)),
            "SM2 item {i}: {:?}",
            owned[i]
        );
    }
    assert!(report.valid_count() > 0 && report.invalid_count() > 0);
}
