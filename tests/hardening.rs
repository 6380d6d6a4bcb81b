//! Memory ceilings: hostile declared lengths cost memory proportional to the bytes given,
//! never to the lengths claimed. (Its own test binary: the counting allocator must see no
//! other test's allocations.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use blockverify::block::{BlockView, HEADER_LEN, Header, SigAlgorithm};
use blockverify::merkle::{self, IncrementalTree, Scheme};
use blockverify::{Backend, Policy, Verifier};

/// Counts live heap bytes and the peak since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: the caller's contract for `dealloc` is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak heap growth, in bytes, while `f` runs.
fn peak_growth(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst).saturating_sub(base)
}

fn header(record_count: u32) -> Vec<u8> {
    header_with(SigAlgorithm::Ed25519(Policy::Zip215), record_count)
}

fn header_with(algorithm: SigAlgorithm, record_count: u32) -> Vec<u8> {
    Header {
        scheme: Scheme::Rfc9162,
        algorithm,
        height: 1,
        prev_hash: [0; 32],
        merkle_root: [0; 32],
        record_count,
        timestamp: 0,
    }
    .to_bytes()
    .to_vec()
}

/// One test function, so no other test allocates on another thread while it measures.
#[test]
fn hostile_declared_lengths_cost_memory_for_the_bytes_given_only() {
    let verifier = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(1)
        .build()
        .unwrap();

    // A header claiming 4 million records, followed by 200 bytes (Ed25519 and SM2 blocks).
    for algorithm in [SigAlgorithm::Ed25519(Policy::Zip215), SigAlgorithm::Sm2] {
        let mut block = header_with(algorithm, 4_000_000);
        block.extend_from_slice(&[0u8; 200]);
        let growth = peak_growth(|| {
            assert!(BlockView::parse(&block).is_err());
            assert!(verifier.verify_block_bytes(&block).is_err());
        });
        assert!(growth < 16 << 10, "declared count cost {growth} bytes");
    }

    // One record claiming a 1 MiB payload (the default limit) with 10 bytes present, and one
    // claiming 4 GiB.
    for claimed in [1u32 << 20, u32::MAX] {
        let mut block = header(1);
        let mut record = vec![0u8; 105];
        record[96..100].copy_from_slice(b"BVR1");
        record[100] = 1;
        record[101..105].copy_from_slice(&claimed.to_le_bytes());
        block.extend_from_slice(&record);
        block.extend_from_slice(&[7u8; 10]);
        let growth = peak_growth(|| {
            let err = BlockView::parse(&block).unwrap_err();
            assert_eq!(err.record, Some(0));
        });
        assert!(growth < 16 << 10, "declared payload cost {growth} bytes");
    }
    assert_eq!(header(0).len(), HEADER_LEN);

    // Proofs claiming enormous trees: checked against the path length before any work.
    let leaf = [1u8; 32];
    let root = [2u8; 32];
    let growth = peak_growth(|| {
        for size in [u64::MAX, 1 << 62, 1 << 40] {
            assert!(
                merkle::verify_inclusion(Scheme::Rfc9162, &root, 5, size, &leaf, &[[0; 32]; 3])
                    .is_err()
            );
            assert!(
                merkle::verify_consistency(Scheme::Rfc9162, 7, size, &root, &root, &[[0; 32]; 2])
                    .is_err()
            );
        }
    });
    assert!(growth < 16 << 10, "huge proof sizes cost {growth} bytes");

    // A restored log frontier claiming 2^63 leaves is refused, not allocated for.
    let growth = peak_growth(|| {
        assert!(IncrementalTree::from_frontier(Scheme::Rfc9162, u64::MAX, &[]).is_none());
    });
    assert!(growth < 16 << 10, "huge frontier cost {growth} bytes");
}
