//! SM2 on the GPU (`shaders/sm2.wgsl`) against the CPU engine and `verify_sm2_single`, item by
//! item: every reason, every key and signature form, IDs, prehashed items, sums whose partial
//! sums meet or vanish; shuffled and in batches of every size from 1 up; `Auto`'s split; and
//! device faults redone on the CPU. On lavapipe in CI (the int64 build there; the unrolled
//! build in `gpu_field_unrolled.rs`). Without an adapter these fail under
//! `BLOCKVERIFY_REQUIRE_GPU=1` (as `.ci/run` sets it) and skip with a note otherwise.
#![cfg(feature = "gpu")]

mod common;

use blockverify::sig::sm2::verify_sm2_single;
use blockverify::{Backend, GpuFault, Placement, Reason, Sm2Item, Verdict, Verifier};
use common::require_gpu;
use common::sm2_corpus::{OwnedSm2, corpus, signed_traffic};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

fn gpu_verifier() -> Option<Verifier> {
    match Verifier::builder().backend(Backend::Gpu).build() {
        Ok(v) => Some(v),
        Err(e) if !require_gpu() => {
            eprintln!("SKIP GPU test: {e} (set BLOCKVERIFY_REQUIRE_GPU=1 to make this fail)");
            None
        }
        Err(e) => panic!("BLOCKVERIFY_REQUIRE_GPU=1 but no GPU backend: {e}"),
    }
}

fn cpu_verifier() -> Verifier {
    Verifier::builder().backend(Backend::Cpu).build().unwrap()
}

fn items(owned: &[OwnedSm2]) -> Vec<Sm2Item<'_>> {
    owned.iter().map(OwnedSm2::item).collect()
}

#[test]
fn gpu_verdicts_equal_the_cpu_engines_item_by_item() {
    let Some(gpu) = gpu_verifier() else {
        return;
    };
    let owned = corpus(500, 0x5_3201);
    let items = items(&owned);
    let want: Vec<Verdict> = items.iter().map(verify_sm2_single).collect();
    // The corpus reaches every reason SM2 has — its own, after Ed25519's seven in
    // `Reason::ALL`, and the two it shares with Ed25519 — and valid items.
    let shared = [Reason::KeyNotOnCurve, Reason::EquationFailed];
    for &reason in Reason::ALL[7..].iter().chain(&shared) {
        assert!(
            want.contains(&Verdict::Invalid(reason)),
            "no item gives {reason:?}"
        );
    }
    assert!(want.iter().filter(|v| v.is_valid()).count() > 200);
    assert_eq!(cpu_verifier().verify_sm2(&items).verdicts(), &want[..]);
    let report = gpu.verify_sm2(&items);
    assert_eq!(report.gpu_fault(), None);
    assert_eq!(report.placement(), Placement::Gpu);
    assert!(gpu.gpu_compile_time().and_then(|c| c.sm2_field).is_some());
    for (i, w) in want.iter().enumerate() {
        assert_eq!(report.verdict(i), Some(*w), "item {i}: {:?}", owned[i]);
    }
    // Shuffled: each item keeps its verdict whatever its neighbours.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.shuffle(&mut rand::rngs::ChaCha20Rng::seed_from_u64(7));
    let shuffled: Vec<Sm2Item<'_>> = order.iter().map(|&i| items[i]).collect();
    let report = gpu.verify_sm2(&shuffled);
    for (k, &i) in order.iter().enumerate() {
        assert_eq!(report.verdict(k), Some(want[i]), "shuffled item {i}");
    }
    // Batches of every size from 1 to 48, then a few larger, from a moving offset.
    let sizes = (1..=48).chain([63, 64, 65, 200, 511]);
    for (k, size) in sizes.enumerate() {
        let from = (k * 37) % (items.len() - size);
        let batch = &items[from..from + size];
        assert_eq!(
            gpu.verify_sm2(batch).verdicts(),
            &want[from..from + size],
            "batch of {size} from {from}"
        );
    }
    assert!(gpu.verify_sm2(&[]).all_valid());
}

/// Random batches of up to a few thousand items, drawn without replacement from a pool of
/// every kind, in random order: each item keeps the verdict `verify_sm2_single` gives it.
#[test]
fn random_batches_of_up_to_thousands_get_the_single_checks_verdicts() {
    let Some(gpu) = gpu_verifier() else {
        return;
    };
    let owned = corpus(2600, 0x5_3204);
    let items = items(&owned);
    let want: Vec<Verdict> = items.iter().map(verify_sm2_single).collect();
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(0x5_3205);
    for round in 0..10 {
        let size = rng.random_range(1..=items.len());
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.shuffle(&mut rng);
        order.truncate(size);
        let batch: Vec<Sm2Item<'_>> = order.iter().map(|&i| items[i]).collect();
        let report = gpu.verify_sm2(&batch);
        assert_eq!(report.placement(), Placement::Gpu);
        for (k, &i) in order.iter().enumerate() {
            assert_eq!(report.verdict(k), Some(want[i]), "round {round}, item {i}");
        }
    }
}

#[test]
fn auto_splits_sm2_and_device_faults_fall_back_to_the_cpu() {
    let Some(gpu) = gpu_verifier() else {
        return;
    };
    let owned = signed_traffic(2 * blockverify::AUTO_GPU_MIN_SIGNATURES + 100, 0x5_3202);
    let items = items(&owned);
    let want = cpu_verifier().verify_sm2(&items);
    assert!(want.valid_count() > 0 && want.invalid_count() > 0);
    let auto = Verifier::builder()
        .backend(Backend::Auto)
        .auto_allows_software_gpu(true)
        .build()
        .unwrap();
    // The first batch is split in half (nothing measured yet), later ones by the rates.
    let first = auto.verify_sm2(&items);
    assert_eq!(first.placement(), Placement::Split);
    assert_eq!(first.gpu_items(), items.len() / 2);
    assert_eq!(first.verdicts(), want.verdicts());
    let again = auto.verify_sm2(&items);
    assert!(again.gpu_items() < items.len());
    assert_eq!(again.verdicts(), want.verdicts());
    // Below the smallest GPU share, the CPU engine alone.
    let small = &items[..blockverify::AUTO_GPU_MIN_SIGNATURES - 1];
    assert_eq!(auto.verify_sm2(small).placement(), Placement::Cpu);
    // A lost device or a rejected dispatch: the CPU engine redoes the batch, the report says
    // so, and the next batch runs on the (reopened) device.
    let batch = &items[..300];
    for fault in [GpuFault::DeviceLost, GpuFault::DispatchFailed] {
        assert!(gpu.inject_gpu_fault(fault));
        let report = gpu.verify_sm2(batch);
        assert_eq!(report.gpu_fault(), Some(fault));
        assert_eq!(report.placement(), Placement::Cpu);
        assert_eq!(report.verdicts(), &want.verdicts()[..300]);
        let next = gpu.verify_sm2(batch);
        assert_eq!(next.gpu_fault(), None);
        assert_eq!(next.placement(), Placement::Gpu);
        assert_eq!(next.verdicts(), &want.verdicts()[..300]);
    }
}
