//! Differential tests: the crate against the reference crates, and every fast path against
//! the reference twin, item by item.
//!
//! * `verify_single(Zip215)` == ed25519-zebra single verification;
//! * `verify_single(Strict)` == ed25519-dalek `verify_strict`;
//! * the batch engine == `verify_single` (verdict *and* reason) across batch sizes 1..2000,
//!   positions of bad items, shuffles, thread counts 1/2/4 and key-cache settings.
//!
//! Case counts are bounded so the suite stays within CI's time on 2 cores; raise
//! `PROPTEST_CASES` locally for a longer soak.

mod common;

use blockverify::{Policy, Verdict, Verifier, verify_single};
use common::{KINDS, Owned, make_item, oracle};
use proptest::prelude::*;

fn verifier(policy: Policy, threads: usize, cache: usize) -> Verifier {
    Verifier::builder()
        .policy(policy)
        .threads(threads)
        .key_cache_size(cache)
        .build()
        .expect("CPU verifier")
}

fn mix() -> impl Strategy<Value = Vec<Owned>> {
    prop::collection::vec((0..KINDS, any::<u64>()), 1..2000)
        .prop_map(|v| v.into_iter().map(|(k, s)| make_item(k, s)).collect())
}

/// Mostly valid items with a few bad ones at random positions: the shape in which batch
/// search bugs hide.
fn sparse_mix() -> impl Strategy<Value = Vec<Owned>> {
    (
        1usize..2000,
        prop::collection::vec(any::<(u16, u8)>(), 0..12),
        any::<u64>(),
    )
        .prop_map(|(n, bad, seed)| {
            let mut items: Vec<Owned> = (0..n as u64).map(|i| make_item(0, seed ^ i)).collect();
            for (pos, kind) in bad {
                let pos = usize::from(pos) % n;
                items[pos] = make_item(2 + kind % (KINDS - 2), seed.rotate_left(7) ^ pos as u64);
            }
            items
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn reference_matches_peer_crates(kinds in prop::collection::vec((0..KINDS, any::<u64>()), 1..64)) {
        for (kind, seed) in kinds {
            let o = make_item(kind, seed);
            for policy in [Policy::Zip215, Policy::Strict] {
                prop_assert_eq!(
                    verify_single(policy, &o.item()).is_valid(),
                    oracle(policy, &o),
                    "kind {} seed {} policy {:?}", kind, seed, policy
                );
            }
        }
    }

    #[test]
    fn batch_equals_single_on_random_mixes(items in mix(), threads in prop::sample::select(vec![1usize, 2, 4])) {
        check_engine(&items, threads)?;
    }

    #[test]
    fn batch_equals_single_with_sparse_bad_items(items in sparse_mix(), threads in prop::sample::select(vec![1usize, 2, 4])) {
        check_engine(&items, threads)?;
    }

    #[test]
    fn verdicts_do_not_depend_on_order(items in mix(), seed in any::<u64>()) {
        let v = verifier(Policy::Zip215, 2, 64);
        let report = v.verify_signatures(&items.iter().map(Owned::item).collect::<Vec<_>>());
        // A deterministic shuffle (Fisher–Yates with a SplitMix64 stream).
        let mut order: Vec<usize> = (0..items.len()).collect();
        let mut x = seed;
        for i in (1..order.len()).rev() {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            order.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
        }
        let shuffled: Vec<_> = order.iter().map(|&i| items[i].item()).collect();
        let again = v.verify_signatures(&shuffled);
        for (pos, &i) in order.iter().enumerate() {
            prop_assert_eq!(again.verdict(pos), report.verdict(i));
        }
    }
}

fn check_engine(items: &[Owned], threads: usize) -> Result<(), TestCaseError> {
    let borrowed: Vec<_> = items.iter().map(Owned::item).collect();
    for policy in [Policy::Zip215, Policy::Strict] {
        let expected: Vec<Verdict> = borrowed.iter().map(|i| verify_single(policy, i)).collect();
        for cache in [0, 1 << 12] {
            let report = verifier(policy, threads, cache).verify_signatures(&borrowed);
            prop_assert_eq!(report.len(), items.len());
            for (i, want) in expected.iter().enumerate() {
                prop_assert_eq!(
                    report.verdict(i),
                    Some(*want),
                    "item {} of {}, policy {:?}, threads {}, cache {}",
                    i,
                    items.len(),
                    policy,
                    threads,
                    cache
                );
            }
            prop_assert_eq!(
                report.invalid_count(),
                expected.iter().filter(|v| !v.is_valid()).count()
            );
        }
    }
    Ok(())
}

/// A verifier's failure estimate moves between calls (it steers group sizes); verdicts must
/// not. Alternate all-bad and all-good batches on one verifier and compare each with the
/// reference.
#[test]
fn verdicts_survive_failure_estimate_swings() {
    let v = verifier(Policy::Zip215, 2, 256);
    for round in 0..6u64 {
        let kind = if round % 2 == 0 { 2 } else { 0 };
        let items: Vec<Owned> = (0..700)
            .map(|i| make_item(kind, round * 1000 + i))
            .collect();
        let mut mixed = items.clone();
        mixed[350] = make_item(2 - kind, 77 + round);
        let borrowed: Vec<_> = mixed.iter().map(Owned::item).collect();
        let report = v.verify_signatures(&borrowed);
        for (i, it) in borrowed.iter().enumerate() {
            assert_eq!(
                report.verdict(i),
                Some(verify_single(Policy::Zip215, it)),
                "round {round} item {i}"
            );
        }
    }
}

/// Issuer traffic with a steady trickle of bad signatures, on one verifier: after the first
/// round its failure estimate sends chunks to small groups, put in key order and with their
/// `R` terms summed a group per lane where the CPU has AVX-512 IFMA (the path the 1%-invalid
/// benchmark takes). Bad items of every kind are mixed in at random positions; every verdict
/// and reason must equal the reference's.
#[test]
fn small_groups_in_key_order_match_the_reference() {
    use blockverify_testkit::{Workload, WorkloadSpec};
    let v = verifier(Policy::Zip215, 2, 256);
    for (round, invalid) in [0.02, 0.01, 0.05, 0.01, 0.002].into_iter().enumerate() {
        let traffic = Workload::generate(&WorkloadSpec {
            items: 3000,
            issuers: 12,
            message_len: 40,
            invalid_fraction: invalid,
            seed: 90 + round as u64,
        });
        let edge: Vec<Owned> = (0..KINDS as u64 * 2)
            .map(|i| make_item(2 + (i % u64::from(KINDS - 2)) as u8, round as u64 * 100 + i))
            .collect();
        let mut items = traffic.items();
        for (j, e) in edge.iter().enumerate() {
            let at = (j * 7919 + round * 131) % items.len();
            items[at] = e.item();
        }
        let report = v.verify_signatures(&items);
        for (i, it) in items.iter().enumerate() {
            assert_eq!(
                report.verdict(i),
                Some(verify_single(Policy::Zip215, it)),
                "round {round} item {i}"
            );
        }
        assert!(report.invalid_count() > 0, "round {round} has bad items");
    }
}
