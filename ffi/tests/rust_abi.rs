//! The ABI called in-process (through the rlib): the same verdicts and roots as the Rust API
//! at every batch size and from several threads at once, on the GPU backend too when there is
//! one, and the misuse that C cannot easily stage (misaligned offsets, sizes that overflow,
//! outputs overlapping each other, short block verdicts).

mod common;

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use blockverify::{Policy, SigItem};
use blockverify_ffi::*;
use common::{SCHEMES, ed25519_items, merkle_leaves, rust_verifier, verdict_code};

/// A CPU verifier through the ABI, freed on drop.
struct Handle(*mut bv_verifier);

// SAFETY: the handle is documented thread-safe (the verifier is Send + Sync).
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

impl Handle {
    fn new(threads: u32, backend: i32) -> Option<Handle> {
        let v = bv_verifier_new(threads, backend);
        (!v.is_null()).then_some(Handle(v))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a live handle from bv_verifier_new, freed once, no call in flight.
        unsafe { bv_verifier_free(self.0) }
    }
}

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated, valid until the next failing call on this thread.
    unsafe { CStr::from_ptr(bv_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A batch flattened as a C caller does it.
struct Flat {
    keys: Vec<u8>,
    sigs: Vec<u8>,
    msgs: Vec<u8>,
    offsets: Vec<usize>,
}

fn flatten(items: &[([u8; 32], [u8; 64], Vec<u8>)]) -> Flat {
    let mut flat = Flat {
        keys: Vec::new(),
        sigs: Vec::new(),
        msgs: Vec::new(),
        offsets: vec![0],
    };
    for (k, s, m) in items {
        flat.keys.extend_from_slice(k);
        flat.sigs.extend_from_slice(s);
        flat.msgs.extend_from_slice(m);
        flat.offsets.push(flat.msgs.len());
    }
    flat
}

fn abi_ed25519(v: &Handle, policy: i32, flat: &Flat) -> (i64, Vec<u8>) {
    let n = flat.offsets.len() - 1;
    let mut verdicts = vec![0xAAu8; n];
    // SAFETY: every buffer is sized as the header asks, and lives through the call.
    let rc = unsafe {
        bv_verify_ed25519(
            v.0,
            policy,
            n,
            flat.keys.as_ptr(),
            flat.sigs.as_ptr(),
            flat.msgs.as_ptr(),
            flat.offsets.as_ptr(),
            verdicts.as_mut_ptr(),
        )
    };
    (rc, verdicts)
}

#[test]
fn ed25519_verdicts_equal_the_rust_apis_at_every_batch_size_and_policy() {
    let owned = ed25519_items();
    let rust = rust_verifier();
    let v = Handle::new(2, BV_BACKEND_CPU).expect("a CPU verifier");
    for n in [0, 1, 2, 63, 64, 65, 257, owned.len()] {
        let batch = &owned[owned.len() - n..];
        let flat = flatten(batch);
        let items: Vec<SigItem<'_>> = batch
            .iter()
            .map(|(k, s, m)| SigItem::new(k, s, m))
            .collect();
        for (policy, code) in [
            (Policy::Zip215, BV_POLICY_ZIP215),
            (Policy::Strict, BV_POLICY_STRICT),
        ] {
            let report = rust.verify_ed25519(policy, &items);
            let want: Vec<u8> = report.verdicts().iter().map(|&v| verdict_code(v)).collect();
            let (rc, got) = abi_ed25519(&v, code, &flat);
            assert_eq!(
                rc,
                report.invalid_count() as i64,
                "n = {n}: {}",
                last_error()
            );
            assert_eq!(got, want, "n = {n}, {policy:?}");
        }
    }
}

#[test]
fn one_handle_serves_many_threads_at_once() {
    let owned = ed25519_items();
    let flat = flatten(&owned[..400]);
    let v = Handle::new(2, BV_BACKEND_CPU).expect("a CPU verifier");
    let (rc, want) = abi_ed25519(&v, BV_POLICY_ZIP215, &flat);
    assert!(rc > 0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..3 {
                    let (got_rc, got) = abi_ed25519(&v, BV_POLICY_ZIP215, &flat);
                    assert_eq!((got_rc, &got), (rc, &want));
                }
            });
        }
    });
}

#[test]
fn misuse_that_c_cannot_easily_stage_is_refused_with_a_message() {
    let v = Handle::new(1, BV_BACKEND_CPU).expect("a CPU verifier");
    let owned = ed25519_items();
    let flat = flatten(&owned[..2]);
    let mut verdicts = [0xAAu8; 2];
    // Offsets one byte off their alignment.
    let mut raw = vec![0u8; 4 * std::mem::size_of::<usize>()];
    let misaligned = raw[1..].as_mut_ptr().cast::<usize>();
    // SAFETY: the pointer is never dereferenced: the call refuses it first.
    let rc = unsafe {
        bv_verify_ed25519(
            v.0,
            0,
            2,
            flat.keys.as_ptr(),
            flat.sigs.as_ptr(),
            flat.msgs.as_ptr(),
            misaligned,
            verdicts.as_mut_ptr(),
        )
    };
    assert_eq!(rc, BV_ERR_USAGE);
    assert!(last_error().contains("aligned"), "{}", last_error());
    // Sizes that cannot exist.
    for n in [usize::MAX, usize::MAX / 32 + 1] {
        // SAFETY: refused before any pointer is read.
        let rc = unsafe {
            bv_verify_ed25519(
                v.0,
                0,
                n,
                flat.keys.as_ptr(),
                flat.sigs.as_ptr(),
                flat.msgs.as_ptr(),
                flat.offsets.as_ptr(),
                verdicts.as_mut_ptr(),
            )
        };
        assert_eq!(rc, BV_ERR_USAGE, "n = {n}");
        assert!(last_error().contains("fit"), "{}", last_error());
    }
    assert_eq!(verdicts, [0xAA; 2], "nothing written on an error");
    // The duplicate-pair output overlapping the root.
    let leaves = [0u8; 64];
    let offsets = [0usize, 32, 64];
    let mut both = [0u64; 8];
    let root = both.as_mut_ptr().cast::<u8>();
    // SAFETY: refused before anything is written.
    let rc = unsafe {
        bv_merkle_root_ex(
            v.0,
            BV_SCHEME_BITCOIN,
            2,
            leaves.as_ptr(),
            offsets.as_ptr(),
            root,
            both.as_mut_ptr().cast(),
        )
    };
    assert_eq!(rc, -1);
    assert!(
        last_error().contains("duplicate overlaps root"),
        "{}",
        last_error()
    );
    // Offsets beyond what the caller says: n + 1 offsets, the last decreasing.
    let bad = [0usize, 64, 10];
    // SAFETY: refused before the leaves are read.
    let rc = unsafe {
        bv_merkle_root(
            v.0,
            BV_SCHEME_RFC9162,
            2,
            leaves.as_ptr(),
            bad.as_ptr(),
            [0u8; 32].as_mut_ptr(),
        )
    };
    assert_eq!(rc, -1);
    assert!(
        last_error().contains("leaf_offsets decrease at item 1"),
        "{}",
        last_error()
    );
}

#[test]
fn merkle_roots_equal_the_rust_apis_for_every_scheme() {
    let rust = rust_verifier();
    let v = Handle::new(2, BV_BACKEND_CPU).expect("a CPU verifier");
    for (scheme, code) in SCHEMES {
        for n in [0usize, 1, 2, 3, 17, 1000] {
            let leaves = merkle_leaves(scheme, n, n as u8);
            let flat: Vec<u8> = leaves.concat();
            let mut offsets = vec![0usize];
            for l in &leaves {
                offsets.push(offsets.last().unwrap() + l.len());
            }
            let mut root = [0u8; 32];
            let mut pair = bv_duplicate_pair::default();
            // SAFETY: buffers sized as the header asks.
            let rc = unsafe {
                bv_merkle_root_ex(
                    v.0,
                    code,
                    n,
                    flat.as_ptr(),
                    offsets.as_ptr(),
                    root.as_mut_ptr(),
                    &mut pair,
                )
            };
            match rust.merkle_root(scheme, &leaves) {
                Ok(report) => {
                    assert_eq!(rc, 0, "{scheme:?} n = {n}: {}", last_error());
                    assert_eq!(root, report.root(), "{scheme:?} n = {n}");
                    assert_eq!(pair.found == 1, report.duplicate_pair().is_some());
                }
                Err(e) => {
                    assert_eq!(rc, -1, "{scheme:?} n = {n}");
                    assert_eq!(last_error(), e.to_string());
                }
            }
        }
    }
}

#[test]
fn a_block_gives_its_verdicts_and_summary_and_refuses_short_verdicts() {
    use blockverify_testkit::{BlockSpec, generate_block};
    let generated = generate_block(&BlockSpec {
        records: 200,
        issuers: 5,
        invalid_rate: 0.05,
        seed: 4,
        ..BlockSpec::default()
    });
    let bytes = &generated.bytes;
    let report = rust_verifier()
        .verify_block_bytes(bytes)
        .expect("well-formed");
    let v = Handle::new(2, BV_BACKEND_CPU).expect("a CPU verifier");
    // SAFETY: `bytes` holds len bytes.
    let count = unsafe { bv_block_record_count(bytes.as_ptr(), bytes.len()) };
    assert_eq!(count, 200);
    let mut summary = bv_block_summary::default();
    let mut verdicts = vec![0xAAu8; 199];
    // SAFETY: buffers as described; the short one is refused.
    let rc = unsafe {
        bv_verify_block(
            v.0,
            bytes.as_ptr(),
            bytes.len(),
            verdicts.as_mut_ptr(),
            199,
            &mut summary,
        )
    };
    assert_eq!(rc, BV_ERR_USAGE);
    assert!(last_error().contains("199"), "{}", last_error());
    assert_eq!(
        summary,
        bv_block_summary::default(),
        "nothing written on an error"
    );
    // No verdicts asked for: only the summary.
    // SAFETY: as above.
    let rc = unsafe {
        bv_verify_block(
            v.0,
            bytes.as_ptr(),
            bytes.len(),
            null_mut(),
            0,
            &mut summary,
        )
    };
    assert_eq!(rc, report.bad_records().len() as i64);
    assert!(rc > 0);
    assert_eq!(summary.records, 200);
    assert_eq!(summary.computed_root, report.computed_root());
    assert_eq!(summary.block_hash, report.block_hash());
    assert_eq!(summary.valid, u8::from(report.is_valid()));
    let mut verdicts = vec![0xAAu8; 250];
    // SAFETY: as above.
    let rc2 = unsafe {
        bv_verify_block(
            v.0,
            bytes.as_ptr(),
            bytes.len(),
            verdicts.as_mut_ptr(),
            250,
            &mut summary,
        )
    };
    assert_eq!(rc2, rc);
    let bad: Vec<usize> = (0..200).filter(|&i| verdicts[i] != BV_VALID).collect();
    assert_eq!(bad, report.bad_records());
    assert!(
        verdicts[200..].iter().all(|&b| b == 0xAA),
        "only the records' bytes are written"
    );
    // A truncated block is malformed, not a usage error.
    // SAFETY: as above.
    let rc = unsafe {
        bv_verify_block(
            v.0,
            bytes.as_ptr(),
            bytes.len() - 1,
            null_mut(),
            0,
            &mut summary,
        )
    };
    assert_eq!(rc, BV_ERR_MALFORMED);
    assert!(
        last_error().starts_with("malformed block"),
        "{}",
        last_error()
    );
}

#[test]
fn reason_names_are_static_and_null_outside_the_codes() {
    let name = |c: u8| {
        let p = bv_reason_name(c);
        // SAFETY: a non-NULL name is a static NUL-terminated string.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
    };
    assert_eq!(name(BV_VALID), None);
    assert_eq!(
        name(BV_REASON_NON_CANONICAL_S).as_deref(),
        Some("non_canonical_s")
    );
    assert_eq!(
        name(BV_REASON_SUM_AT_INFINITY).as_deref(),
        Some("sum_at_infinity")
    );
    assert_eq!(name(BV_DUPLICATE).as_deref(), Some("duplicate"));
    assert_eq!((15..BV_REASON_OTHER).filter_map(name).count(), 0);
    // SAFETY: a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(bv_version()) }.to_str().unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    assert!(bv_verifier_new(0, 3).is_null());
    assert!(
        last_error().contains("unknown backend 3"),
        "{}",
        last_error()
    );
    let _ = null::<u8>();
}

/// With a GPU (lavapipe in CI, where BLOCKVERIFY_REQUIRE_GPU=1 makes its absence a failure),
/// the GPU backend gives the CPU's verdicts and roots through the ABI.
#[test]
fn the_gpu_backend_gives_the_same_results_through_the_abi() {
    let Some(gpu) = Handle::new(0, BV_BACKEND_GPU) else {
        assert!(
            std::env::var_os("BLOCKVERIFY_REQUIRE_GPU").is_none(),
            "BLOCKVERIFY_REQUIRE_GPU is set but there is no GPU: {}",
            last_error()
        );
        println!("SKIP GPU test: {}", last_error());
        return;
    };
    // SAFETY: a live handle.
    assert_eq!(unsafe { bv_verifier_has_gpu(gpu.0) }, 1);
    let cpu = Handle::new(2, BV_BACKEND_CPU).expect("a CPU verifier");
    let owned = ed25519_items();
    let flat = flatten(&owned[owned.len() - 300..]);
    for policy in [BV_POLICY_ZIP215, BV_POLICY_STRICT] {
        assert_eq!(
            abi_ed25519(&gpu, policy, &flat),
            abi_ed25519(&cpu, policy, &flat)
        );
    }
    let leaves = merkle_leaves(blockverify::merkle::Scheme::FiscoBcos, 1000, 3);
    let flat: Vec<u8> = leaves.concat();
    let offsets: Vec<usize> = (0..=1000).map(|i| i * 32).collect();
    let mut roots = [[0u8; 32]; 2];
    for (h, root) in [&gpu, &cpu].into_iter().zip(&mut roots) {
        // SAFETY: buffers sized as the header asks.
        let rc = unsafe {
            bv_merkle_root(
                h.0,
                BV_SCHEME_FISCO_BCOS,
                1000,
                flat.as_ptr(),
                offsets.as_ptr(),
                root.as_mut_ptr(),
            )
        };
        assert_eq!(rc, 0, "{}", last_error());
    }
    assert_eq!(roots[0], roots[1]);
}
