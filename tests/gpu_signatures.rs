//! The GPU signature kernel against the CPU engine and the recorded edge cases, on whatever
//! adapter wgpu finds (Mesa's lavapipe in CI, where these tests must run: `.ci/run` sets
//! `BLOCKVERIFY_REQUIRE_GPU=1`, which turns a missing adapter into a failure).
//!
//! Sizes are kept small: lavapipe verifies a few thousand signatures per second on two cores.
#![cfg(feature = "gpu")]

mod common;

use std::sync::{Arc, OnceLock};

use blockverify::{
    Backend, GpuFault, Placement, Policy, SigBatch, SigItem, SigReport, Verdict, Verifier,
    verify_single,
};
use common::edge_data::{POLICIES, load_cases};
use common::{KINDS, Owned, cpu_verifier, make_item, require_gpu};
use proptest::prelude::*;

/// A verifier that sends every signature batch to the GPU, or `None` (with a skip line) when
/// this machine has no adapter and the GPU is not required.
fn gpu_verifier(policy: Policy) -> Option<Verifier> {
    match Verifier::builder()
        .policy(policy)
        .backend(Backend::Gpu)
        .build()
    {
        Ok(v) => Some(v),
        Err(e) => {
            if require_gpu() {
                panic!("BLOCKVERIFY_REQUIRE_GPU=1 but no GPU backend: {e}");
            }
            eprintln!("SKIP GPU test: {e} (set BLOCKVERIFY_REQUIRE_GPU=1 to make this fail)");
            None
        }
    }
}

/// One GPU verifier per policy for the whole test binary, as a node keeps one: the kernel is
/// compiled once per policy instead of once per test case. Tests that break their device
/// (fault injection) or need an `Arc` build their own.
fn shared_gpu(policy: Policy) -> Option<&'static Verifier> {
    static ZIP215: OnceLock<Option<Verifier>> = OnceLock::new();
    static STRICT: OnceLock<Option<Verifier>> = OnceLock::new();
    let cell = match policy {
        Policy::Strict => &STRICT,
        _ => &ZIP215,
    };
    cell.get_or_init(|| gpu_verifier(policy)).as_ref()
}

/// Every item's GPU verdict equals the reference's, item by item, with the index in the
/// message when not.
fn assert_matches_reference(policy: Policy, items: &[SigItem<'_>], report: &SigReport) {
    assert_eq!(report.len(), items.len());
    for (i, item) in items.iter().enumerate() {
        assert_eq!(
            report.verdict(i),
            Some(verify_single(policy, item)),
            "{policy:?} item {i}: {item:?}"
        );
    }
}

#[test]
fn every_edge_case_gets_its_recorded_verdict_on_the_gpu() {
    let cases = load_cases();
    let items: Vec<SigItem<'_>> = cases.iter().map(|c| c.item()).collect();
    for policy in POLICIES {
        let Some(gpu) = shared_gpu(policy) else {
            return;
        };
        let report = gpu.verify_signatures(&items);
        assert_eq!(report.placement(), Placement::Gpu, "{policy:?}");
        assert_eq!(report.gpu_fault(), None);
        assert_eq!(report.gpu_items(), items.len());
        // The default build: 64-bit limb products wherever the adapter offers them (lavapipe
        // in CI does), so that build is what these tests check; tests/gpu_field_unrolled.rs
        // forces the other.
        let int64 = gpu.gpu_adapter().is_some_and(|a| a.shader_int64);
        assert_eq!(
            gpu.gpu_compile_time().and_then(|c| c.ed25519_field),
            Some(if int64 { "int64" } else { "unrolled" })
        );
        let wrong: Vec<String> = cases
            .iter()
            .zip(report.verdicts())
            .filter(|(case, got)| case.expected(policy) != **got)
            .map(|(case, got)| {
                format!(
                    "{}: expected {:?}, GPU said {got:?}",
                    case.name,
                    case.expected(policy)
                )
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "{policy:?}: {} of {} edge cases differ:\n{}",
            wrong.len(),
            cases.len(),
            wrong.join("\n")
        );
        // Both outcomes occur, so the comparison above could have failed either way.
        assert!(report.valid_count() > 0 && report.invalid_count() > 0);
    }
}

#[test]
fn a_single_item_and_an_empty_batch() {
    let Some(gpu) = shared_gpu(Policy::Zip215) else {
        return;
    };
    assert!(gpu.verify_signatures(&[]).is_empty());
    let good = make_item(0, 7);
    let bad = make_item(2, 7);
    assert_eq!(
        gpu.verify_signatures(&[good.item()]).verdicts(),
        [Verdict::Valid]
    );
    let report = gpu.verify_signatures(&[bad.item()]);
    assert!(!report.all_valid());
    assert_eq!(report.placement(), Placement::Gpu);
}

/// `n` items of the mixed kinds (valid, tampered, bit flips, torsion, S + L, …).
fn mixed(kinds: &[u8], seed: u64) -> Vec<Owned> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, &k)| make_item(k, seed.wrapping_add(i as u64 * 0x9E37)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Random mixes of valid and invalid items of every kind, sizes 1..3000, both policies:
    /// the GPU gives the reference's verdict on every item.
    #[test]
    fn gpu_equals_reference_on_random_mixes(
        kinds in prop::collection::vec(0..KINDS, 1..3000),
        seed in any::<u64>(),
        strict in any::<bool>(),
    ) {
        let policy = if strict { Policy::Strict } else { Policy::Zip215 };
        let Some(gpu) = shared_gpu(policy) else { return Ok(()); };
        let owned = mixed(&kinds, seed);
        let items: Vec<SigItem<'_>> = owned.iter().map(Owned::item).collect();
        let report = gpu.verify_signatures(&items);
        prop_assert_eq!(report.gpu_fault(), None);
        assert_matches_reference(policy, &items, &report);
        prop_assert_eq!(&report, &cpu_verifier(policy).verify_signatures(&items));
    }
}

/// `Auto` with a GPU it may use (here possibly lavapipe, allowed for the test) splits the
/// batch across both engines, calibrates, and its reports equal the CPU engine's.
#[test]
fn auto_splits_between_gpu_and_cpu_and_agrees_with_cpu() {
    if shared_gpu(Policy::Zip215).is_none() {
        return;
    }
    for policy in POLICIES {
        let auto = Verifier::builder()
            .policy(policy)
            .backend(Backend::Auto)
            .auto_allows_software_gpu(true)
            .build()
            .unwrap();
        assert_eq!(auto.backend(), Backend::Auto);
        let cpu = cpu_verifier(policy);
        let kinds: Vec<u8> = (0..2400u32).map(|i| (i % 13) as u8 % KINDS).collect();
        let owned = mixed(&kinds, 99);
        let items: Vec<SigItem<'_>> = owned.iter().map(Owned::item).collect();
        // The first batch is split in half (nothing measured yet).
        let first = auto.verify_signatures(&items);
        assert_eq!(first.placement(), Placement::Split, "{policy:?}");
        assert_eq!(first.gpu_items(), items.len() / 2);
        assert_eq!(first, cpu.verify_signatures(&items));
        assert_matches_reference(policy, &items, &first);
        // Later batches follow the measured rates; whatever the split, the same verdicts.
        for _ in 0..2 {
            let report = auto.verify_signatures(&items);
            assert!(report.gpu_items() < items.len());
            assert_eq!(report, first);
        }
        // Below the smallest GPU share, the CPU engine alone.
        let small = &items[..AUTO_SMALL];
        assert_eq!(auto.verify_signatures(small).placement(), Placement::Cpu);
    }
}

const AUTO_SMALL: usize = blockverify::AUTO_GPU_MIN_SIGNATURES - 1;

#[test]
fn device_loss_and_rejected_dispatch_fall_back_to_the_cpu_with_the_same_verdicts() {
    let Some(gpu) = gpu_verifier(Policy::Zip215) else {
        return;
    };
    let owned = mixed(&[0, 2, 6, 7, 9, 1, 4, 3], 5);
    let items: Vec<SigItem<'_>> = owned.iter().map(Owned::item).collect();
    let want = cpu_verifier(Policy::Zip215).verify_signatures(&items);
    for fault in [GpuFault::DeviceLost, GpuFault::DispatchFailed] {
        assert!(gpu.inject_gpu_fault(fault));
        let report = gpu.verify_signatures(&items);
        assert_eq!(report.gpu_fault(), Some(fault));
        assert_eq!(report.placement(), Placement::Cpu);
        assert_eq!(report, want);
        // The next batch runs on the (reopened) device again.
        let again = gpu.verify_signatures(&items);
        assert_eq!(again.gpu_fault(), None);
        assert_eq!(again.placement(), Placement::Gpu);
        assert_eq!(again, want);
    }
}

#[test]
fn pipelined_batches_return_their_own_reports_in_submission_order() {
    let Some(gpu) = gpu_verifier(Policy::Zip215) else {
        return;
    };
    let gpu = Arc::new(gpu);
    let cpu = cpu_verifier(Policy::Zip215);
    let batches: Vec<Vec<Owned>> = (0..4u64)
        .map(|b| {
            let kinds: Vec<u8> = (0..(50 + 37 * b as usize))
                .map(|i| (i as u8 * 3 + b as u8) % KINDS)
                .collect();
            mixed(&kinds, 1000 * b)
        })
        .collect();
    let pending: Vec<_> = batches
        .iter()
        .map(|owned| {
            let mut batch = SigBatch::new();
            batch.extend(owned.iter().map(Owned::item));
            gpu.submit_signatures(batch)
        })
        .collect();
    for (owned, pending) in batches.iter().zip(pending) {
        let items: Vec<SigItem<'_>> = owned.iter().map(Owned::item).collect();
        let (batch, report) = pending.wait();
        assert_eq!(batch.items(), items, "the batch comes back as submitted");
        assert_eq!(report.placement(), Placement::Gpu);
        assert_eq!(report, cpu.verify_signatures(&items));
        assert!(!report.all_valid() && report.valid_count() > 0);
    }
}
