//! The reference block format and `verify_block`: round trips, every corruption attributed to
//! its record, truncation at every offset, hostile headers, chains — for Ed25519 blocks
//! (format version 1) and SM2 blocks (version 2).

mod common;

use blockverify::block::{
    self, BlockError, BlockView, FormatErrorKind, HEADER_LEN, Header, Limits, RECORD_OVERHEAD,
    RecordKind, RecordVerdict, SM2_RECORD_OVERHEAD, SigAlgorithm,
};
use blockverify::merkle::{self, Scheme};
use blockverify::sig::sm2::verify_sm2_single;
use blockverify::{Backend, Placement, Policy, Reason, Verdict, Verifier};
use blockverify_testkit::block::GeneratedBlock;
use blockverify_testkit::block::{BlockSpec, Corruption};
use blockverify_testkit::{SigningKey, Sm2SigningKey};
use common::cpu_verifier;
use proptest::prelude::*;

fn spec(records: usize, seed: u64) -> BlockSpec {
    BlockSpec {
        records,
        issuers: 8,
        seed,
        ..BlockSpec::default()
    }
}

#[test]
fn a_generated_block_parses_and_verifies() {
    for scheme in [Scheme::Rfc9162, Scheme::Bitcoin] {
        for policy in [Policy::Zip215, Policy::Strict] {
            let generated = blockverify_testkit::generate_block(&BlockSpec {
                scheme,
                algorithm: SigAlgorithm::Ed25519(policy),
                ..spec(500, 1)
            });
            // Ed25519 blocks are written as version 1, as before version 2 existed.
            assert_eq!(generated.bytes[4..6], [1, 0]);
            assert_eq!(generated.header.version(), 1);
            let view = BlockView::parse(&generated.bytes).unwrap();
            assert_eq!(view.header(), &generated.header);
            assert_eq!(view.records().len(), 500);
            let kinds: Vec<RecordKind> = view.records().iter().map(|r| r.kind()).collect();
            for kind in [
                RecordKind::Invoice,
                RecordKind::Certificate,
                RecordKind::Evidence,
            ] {
                assert!(kinds.contains(&kind), "{kind:?}");
            }
            let report = cpu_verifier(policy)
                .verify_block_bytes(&generated.bytes)
                .unwrap();
            assert!(report.is_valid(), "{scheme} {policy:?}");
            assert_eq!(report.valid_count(), 500);
            assert_eq!(report.block_hash(), generated.header.hash());
        }
    }
}

/// The root of `encodings` under `scheme`, computed independently of the crate's block code:
/// RFC 9162 over the encodings, the others over ids from the `sha2` and `sm3` crates —
/// SHA-256d (Bitcoin), SM3 (FISCO BCOS, ChainMaker SM3), SHA-256 (ChainMaker SHA-256).
fn independent_root(scheme: Scheme, encodings: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let ids: Vec<[u8; 32]> = encodings
        .iter()
        .map(|e| match scheme {
            Scheme::Bitcoin => Sha256::digest(Sha256::digest(e)).into(),
            Scheme::FiscoBcos | Scheme::ChainMakerSm3 => sm3::Sm3::digest(e).into(),
            _ => Sha256::digest(e).into(),
        })
        .collect();
    if scheme.hashes_leaves() {
        merkle::merkle_root_reference(scheme, encodings).unwrap()
    } else {
        merkle::merkle_root_reference(scheme, &ids).unwrap()
    }
}

/// The header root of a generated block, under every scheme, against leaves computed here
/// independently of the crate's block code.
#[test]
fn header_roots_match_independently_computed_leaves() {
    for scheme in Scheme::ALL {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            scheme,
            ..spec(3001, 30)
        });
        let view = BlockView::parse(&generated.bytes).unwrap();
        assert_eq!(view.header().scheme, scheme);
        let encodings: Vec<&[u8]> = view.records().iter().map(|r| r.bytes()).collect();
        let root = independent_root(scheme, &encodings);
        assert_eq!(root, generated.header.merkle_root, "{scheme}");
        assert_eq!(block::record_root(scheme, &encodings).root(), root);
        let report = cpu_verifier(Policy::Zip215)
            .verify_block_bytes(&generated.bytes)
            .unwrap();
        assert!(report.is_valid(), "{scheme}");
        assert_eq!(report.computed_root(), root);
    }
}

#[test]
fn empty_blocks_of_every_scheme_are_valid() {
    // ChainMaker trees of no leaves have no root: such a block's header carries zeros.
    for scheme in Scheme::ALL {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            scheme,
            ..spec(0, 2)
        });
        let report = cpu_verifier(Policy::Zip215)
            .verify_block_bytes(&generated.bytes)
            .unwrap();
        assert!(report.is_valid(), "{scheme}");
        assert_eq!(
            report.computed_root(),
            scheme.empty_root().unwrap_or([0; 32]),
            "{scheme}"
        );
    }
}

#[test]
fn the_empty_block_is_valid() {
    let generated = blockverify_testkit::generate_block(&spec(0, 2));
    assert_eq!(generated.bytes.len(), HEADER_LEN);
    let report = cpu_verifier(Policy::Zip215)
        .verify_block_bytes(&generated.bytes)
        .unwrap();
    assert!(report.is_valid());
    assert_eq!(Some(report.computed_root()), Scheme::Rfc9162.empty_root());
}

#[test]
fn every_record_corruption_is_attributed_to_its_record() {
    let verifier = cpu_verifier(Policy::Zip215);
    for how in Corruption::PER_RECORD {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            invalid_rate: 0.05,
            corruptions: vec![how],
            ..spec(1000, 3)
        });
        assert!(generated.corrupted.len() > 20, "{how:?}");
        let report = verifier.verify_block_bytes(&generated.bytes).unwrap();
        assert_corruptions_named(&generated, &report, how);
        // Tampering in transit happens after the root was computed; the others are
        // included in it.
        assert_eq!(
            report.root_matches(),
            how != Corruption::TamperedPayload,
            "{how:?}"
        );
        assert!(!report.is_valid());
    }
}

#[test]
fn a_wrong_root_and_a_truncated_record_are_reported() {
    let verifier = cpu_verifier(Policy::Zip215);
    let generated = blockverify_testkit::generate_block(&BlockSpec {
        block_corruptions: vec![Corruption::WrongRoot],
        ..spec(300, 4)
    });
    let report = verifier.verify_block_bytes(&generated.bytes).unwrap();
    assert!(!report.root_matches());
    assert!(report.bad_records().is_empty());
    assert!(!report.is_valid());

    let generated = blockverify_testkit::generate_block(&BlockSpec {
        block_corruptions: vec![Corruption::TruncatedRecord],
        ..spec(300, 5)
    });
    match verifier.verify_block_bytes(&generated.bytes) {
        Err(BlockError::Format(e)) => {
            assert_eq!(e.record, Some(299), "{e}");
            assert!(matches!(e.kind, FormatErrorKind::Truncated { .. }), "{e}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn truncation_at_every_offset_is_an_error_never_a_panic() {
    let generated = blockverify_testkit::generate_block(&spec(12, 6));
    let bytes = &generated.bytes;
    for cut in 0..bytes.len() {
        let err = BlockView::parse(&bytes[..cut]).unwrap_err();
        assert!(err.offset <= cut, "cut {cut}: {err}");
    }
    BlockView::parse(bytes).unwrap();
    let mut longer = bytes.clone();
    longer.push(0);
    let err = BlockView::parse(&longer).unwrap_err();
    assert_eq!(err.kind, FormatErrorKind::TrailingBytes { count: 1 });
    assert_eq!(err.offset, bytes.len());
}

#[test]
fn hostile_headers_and_records_name_the_offset() {
    let generated = blockverify_testkit::generate_block(&spec(3, 7));
    let good = generated.bytes.clone();
    let expect = |bytes: &[u8], offset: usize, kind: FormatErrorKind| {
        let err = BlockView::parse(bytes).unwrap_err();
        assert_eq!((err.offset, &err.kind), (offset, &kind), "{err}");
    };
    let mut b = good.clone();
    b[0] = b'X';
    expect(&b, 0, FormatErrorKind::BadMagic);
    for version in [0u16, 3, 0x0100, u16::MAX] {
        let mut b = good.clone();
        b[4..6].copy_from_slice(&version.to_le_bytes());
        expect(&b, 4, FormatErrorKind::UnsupportedVersion(version));
    }
    // A version-1 header relabelled as version 2 has no algorithm (byte 8 is zero).
    let mut b = good.clone();
    b[4] = 2;
    expect(&b, 8, FormatErrorKind::UnknownAlgorithm(0));
    let mut b = good.clone();
    b[6] = 9;
    expect(&b, 6, FormatErrorKind::UnknownScheme(9));
    let mut b = good.clone();
    b[7] = 0;
    expect(&b, 7, FormatErrorKind::UnknownPolicy(0));
    let mut b = good.clone();
    b[9] = 1;
    expect(&b, 8, FormatErrorKind::ReservedNotZero);
    // A version-1 header cannot name an algorithm: byte 8 is reserved there.
    let mut b = good.clone();
    b[8] = SigAlgorithm::Sm2.code();
    expect(&b, 8, FormatErrorKind::ReservedNotZero);
    // A count the bytes cannot hold is refused before anything is allocated for it.
    let mut b = good.clone();
    b[82..86].copy_from_slice(&3_000_000u32.to_le_bytes());
    let err = BlockView::parse(&b).unwrap_err();
    assert!(
        matches!(err.kind, FormatErrorKind::Truncated { .. }),
        "{err}"
    );
    let mut b = good.clone();
    b[82..86].copy_from_slice(&u32::MAX.to_le_bytes());
    expect(
        &b,
        82,
        FormatErrorKind::TooManyRecords {
            count: u32::MAX,
            limit: block::DEFAULT_MAX_RECORDS,
        },
    );
    // Record 0 starts right after the header.
    let mut b = good.clone();
    b[HEADER_LEN + 96] = b'X';
    expect(&b, HEADER_LEN + 96, FormatErrorKind::BadRecordTag);
    let mut b = good.clone();
    b[HEADER_LEN + 100] = 7;
    expect(&b, HEADER_LEN + 100, FormatErrorKind::UnknownKind(7));
    let mut b = good.clone();
    b[HEADER_LEN + 101..HEADER_LEN + 105].copy_from_slice(&u32::MAX.to_le_bytes());
    expect(
        &b,
        HEADER_LEN + 101,
        FormatErrorKind::PayloadTooLarge {
            len: u32::MAX,
            limit: block::DEFAULT_MAX_PAYLOAD,
        },
    );
    let tight = Limits {
        max_records: 2,
        ..Limits::default()
    };
    let err = BlockView::parse_with(&good, tight).unwrap_err();
    assert_eq!(
        err.kind,
        FormatErrorKind::TooManyRecords { count: 3, limit: 2 }
    );
    // Hostile bytes of every length below a header, and random bytes after a valid header.
    for len in 0..HEADER_LEN {
        assert!(BlockView::parse(&good[..len]).is_err());
    }
}

/// Each block declares its policy and is verified under it, whatever the verifier's default
/// (one verifier, one pool, for blocks of both policies).
#[test]
fn a_block_is_verified_under_the_policy_it_declares() {
    for policy in [Policy::Strict, Policy::Zip215] {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            algorithm: SigAlgorithm::Ed25519(policy),
            invalid_rate: 0.1,
            ..spec(40, 8)
        });
        let view = BlockView::parse(&generated.bytes).expect("block");
        let items: Vec<_> = view
            .records()
            .iter()
            .map(|r| r.sig_item().unwrap())
            .collect();
        let expected: Vec<_> = items
            .iter()
            .map(|item| blockverify::verify_single(policy, item))
            .collect();
        for default in [Policy::Zip215, Policy::Strict] {
            let report = cpu_verifier(default)
                .verify_block_bytes(&generated.bytes)
                .expect("verifiable");
            let got: Vec<_> = report
                .verdicts()
                .iter()
                .map(|v| match v {
                    RecordVerdict::Invalid(reason) => blockverify::Verdict::Invalid(*reason),
                    _ => blockverify::Verdict::Valid,
                })
                .collect();
            assert_eq!(
                got, expected,
                "block {policy:?}, verifier default {default:?}"
            );
        }
    }
}

#[test]
fn chains_check_every_link() {
    let mut blocks = Vec::new();
    let mut prev = [0u8; 32];
    for height in 0..4 {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            height,
            prev_hash: prev,
            ..spec(50, 10 + height)
        });
        prev = generated.header.hash();
        blocks.push(generated.bytes);
    }
    let verifier = cpu_verifier(Policy::Zip215);
    let slices: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();
    let report = verifier.verify_chain(&slices);
    assert!(report.is_valid());
    assert_eq!(report.blocks().len(), 4);

    // Block 2 swapped for a block that does not link.
    let stranger = blockverify_testkit::generate_block(&BlockSpec {
        height: 2,
        ..spec(50, 99)
    });
    let mut broken = slices.clone();
    broken[2] = &stranger.bytes;
    let report = verifier.verify_chain(&broken);
    assert_eq!(report.broken_links(), &[2, 3]);
    assert!(
        report
            .blocks()
            .iter()
            .all(|b| b.as_ref().unwrap().is_valid())
    );
    assert!(!report.is_valid());
    assert!(verifier.verify_chain(&[]).is_valid());
}

#[test]
fn submitted_blocks_overlap_and_report_like_verify_block() {
    let verifier = std::sync::Arc::new(cpu_verifier(Policy::Zip215));
    let blocks: Vec<std::sync::Arc<[u8]>> = (0..3)
        .map(|i| {
            blockverify_testkit::generate_block(&BlockSpec {
                invalid_rate: 0.01,
                ..spec(800, 20 + i)
            })
            .bytes
            .into()
        })
        .collect();
    let pending: Vec<_> = blocks
        .iter()
        .map(|b| verifier.submit_block(b.clone()))
        .collect();
    for (p, b) in pending.into_iter().zip(&blocks) {
        let report = p.wait().unwrap();
        let direct = verifier.verify_block_bytes(b).unwrap();
        assert_eq!(report.verdicts(), direct.verdicts());
        assert_eq!(report.computed_root(), direct.computed_root());
    }
    let bad: std::sync::Arc<[u8]> = vec![0u8; 10].into();
    assert!(matches!(
        verifier.submit_block(bad).wait(),
        Err(BlockError::Format(_))
    ));
}

#[test]
fn gpu_and_cpu_verify_blocks_identically() {
    let Ok(gpu) = Verifier::builder().backend(Backend::Gpu).build() else {
        assert!(
            std::env::var("BLOCKVERIFY_REQUIRE_GPU").map_or(true, |v| v != "1"),
            "BLOCKVERIFY_REQUIRE_GPU=1 but no GPU"
        );
        eprintln!("SKIP GPU test: no GPU adapter");
        return;
    };
    for scheme in [Scheme::Rfc9162, Scheme::Bitcoin] {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            scheme,
            invalid_rate: 0.02,
            ..spec(2000, 11)
        });
        let on_gpu = gpu.verify_block_bytes(&generated.bytes).unwrap();
        let on_cpu = cpu_verifier(Policy::Zip215)
            .verify_block_bytes(&generated.bytes)
            .unwrap();
        assert_eq!(on_gpu.merkle_placement(), Placement::Gpu);
        assert_eq!(on_gpu.computed_root(), on_cpu.computed_root());
        assert_eq!(on_gpu.verdicts(), on_cpu.verdicts());
    }
    // A guomi block: the SM3 root and the SM2 signatures on the GPU, the same verdicts and
    // root as the CPU backend's.
    let generated = blockverify_testkit::generate_block(&BlockSpec {
        scheme: Scheme::FiscoBcos,
        invalid_rate: 0.02,
        ..sm2_spec(1000, 49)
    });
    let on_gpu = gpu.verify_block_bytes(&generated.bytes).unwrap();
    let on_cpu = cpu_verifier(Policy::Zip215)
        .verify_block_bytes(&generated.bytes)
        .unwrap();
    assert_eq!(on_gpu.signature_placement(), Placement::Gpu);
    assert_eq!(on_gpu.merkle_placement(), Placement::Gpu);
    assert_eq!(on_gpu.computed_root(), on_cpu.computed_root());
    assert_eq!(on_gpu.verdicts(), on_cpu.verdicts());
    assert_eq!(
        on_gpu.bad_records(),
        generated.corrupted.iter().map(|c| c.0).collect::<Vec<_>>()
    );
}

/// `sig_item` is the Ed25519 item and `sm2_item` the SM2 one: each is `None` on the other
/// algorithm's records.
#[test]
fn each_algorithm_has_its_own_item() {
    let generated = blockverify_testkit::generate_block(&sm2_spec(1, 50));
    let view = BlockView::parse(&generated.bytes).unwrap();
    let record = view.records()[0];
    assert!(record.sig_item().is_none());
    assert!(record.sm2_item(&record.message_sm3()).is_some());
    let generated = blockverify_testkit::generate_block(&BlockSpec {
        records: 3,
        ..BlockSpec::default()
    });
    let view = BlockView::parse(&generated.bytes).unwrap();
    let record = view.records()[0];
    assert!(record.sig_item().is_some());
    assert!(record.sm2_item(&record.message_sm3()).is_none());
}

// ---- SM2 blocks (format version 2) ----

fn sm2_spec(records: usize, seed: u64) -> BlockSpec {
    BlockSpec {
        algorithm: SigAlgorithm::Sm2,
        ..spec(records, seed)
    }
}

/// RustCrypto `sm2` on one SM2 record (the issuer signs the SM3 hash of the signed message
/// with the default ID), independently of the library: the key and signature as carried,
/// the hash from the `sm3` crate.
fn rustcrypto_accepts(r: &block::RecordView<'_>) -> bool {
    use sm2::dsa::signature::Verifier as _;
    use sm3::Digest;
    let digest: [u8; 32] = sm3::Sm3::digest(r.signed_message()).into();
    let mut sec1 = vec![0x04];
    sec1.extend_from_slice(r.issuer());
    let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &sec1) else {
        return false;
    };
    let Ok(signature) = sm2::dsa::Signature::from_slice(r.signature()) else {
        return false;
    };
    key.verify(&digest, &signature).is_ok()
}

/// A report's verdicts as signature verdicts (a duplicate's signature is valid).
fn signature_verdicts(report: &block::BlockReport) -> Vec<Verdict> {
    report
        .verdicts()
        .iter()
        .map(|v| match v {
            RecordVerdict::Invalid(reason) => Verdict::Invalid(*reason),
            _ => Verdict::Valid,
        })
        .collect()
}

#[test]
fn sm2_blocks_round_trip_under_every_scheme() {
    for scheme in Scheme::ALL {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            scheme,
            ..sm2_spec(301, 40)
        });
        // Version 2: the algorithm in byte 8, no policy.
        assert_eq!(generated.bytes[4..6], [2, 0], "{scheme}");
        assert_eq!(generated.bytes[7..10], [0, 2, 0], "{scheme}");
        assert_eq!(generated.header.version(), 2);
        let view = BlockView::parse(&generated.bytes).unwrap();
        assert_eq!(view.header(), &generated.header);
        assert_eq!(view.header().algorithm, SigAlgorithm::Sm2);
        assert_eq!(view.header().algorithm.policy(), None);
        assert_eq!(
            &view.header().to_bytes()[..],
            &generated.bytes[..HEADER_LEN]
        );
        assert_eq!(view.records().len(), 301);
        for r in view.records() {
            assert_eq!(r.algorithm(), SigAlgorithm::Sm2);
            assert_eq!(r.issuer().len(), 64);
            assert_eq!(r.bytes().len(), SM2_RECORD_OVERHEAD + r.payload().len());
            assert_eq!(
                r.signed_message(),
                block::signed_message(r.kind(), r.payload()).as_slice()
            );
            assert!(rustcrypto_accepts(r));
        }
        let encodings: Vec<&[u8]> = view.records().iter().map(|r| r.bytes()).collect();
        let root = independent_root(scheme, &encodings);
        assert_eq!(root, generated.header.merkle_root, "{scheme}");
        let report = cpu_verifier(Policy::Strict)
            .verify_block_bytes(&generated.bytes)
            .unwrap();
        assert!(report.is_valid(), "{scheme}");
        assert_eq!(report.valid_count(), 301);
        assert_eq!(report.computed_root(), root);
        assert_eq!(report.block_hash(), generated.header.hash());
        assert_eq!(report.signature_placement(), Placement::Cpu);
    }
}

#[test]
fn empty_sm2_blocks_of_every_scheme_are_valid() {
    for scheme in Scheme::ALL {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            scheme,
            ..sm2_spec(0, 41)
        });
        assert_eq!(generated.bytes.len(), HEADER_LEN);
        let report = cpu_verifier(Policy::Zip215)
            .verify_block_bytes(&generated.bytes)
            .unwrap();
        assert!(report.is_valid(), "{scheme}");
    }
}

#[test]
fn every_sm2_record_corruption_is_attributed_to_its_record() {
    let verifier = cpu_verifier(Policy::Zip215);
    for how in Corruption::PER_RECORD {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            invalid_rate: 0.05,
            corruptions: vec![how],
            scheme: Scheme::FiscoBcos,
            ..sm2_spec(600, 42)
        });
        assert!(generated.corrupted.len() > 12, "{how:?}");
        let report = verifier.verify_block_bytes(&generated.bytes).unwrap();
        assert_corruptions_named(&generated, &report, how);
        assert_eq!(
            report.root_matches(),
            how != Corruption::TamperedPayload,
            "{how:?}"
        );
        assert!(!report.is_valid());
    }

    // Block level: a wrong root, a record cut short.
    let generated = blockverify_testkit::generate_block(&BlockSpec {
        block_corruptions: vec![Corruption::WrongRoot],
        ..sm2_spec(200, 43)
    });
    let report = verifier.verify_block_bytes(&generated.bytes).unwrap();
    assert!(!report.root_matches());
    assert!(report.bad_records().is_empty());
    let generated = blockverify_testkit::generate_block(&BlockSpec {
        block_corruptions: vec![Corruption::TruncatedRecord],
        ..sm2_spec(200, 44)
    });
    match verifier.verify_block_bytes(&generated.bytes) {
        Err(BlockError::Format(e)) => {
            assert_eq!(e.record, Some(199), "{e}");
            assert!(matches!(e.kind, FormatErrorKind::Truncated { .. }), "{e}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

/// Every corruption mixed in one block: the block path's verdicts equal `verify_sm2_single`
/// on each record's own item and RustCrypto `sm2`, record by record, at every thread count.
#[test]
fn sm2_block_verdicts_equal_the_single_checks_item_by_item() {
    let generated = blockverify_testkit::generate_block(&BlockSpec {
        invalid_rate: 0.3,
        corruptions: Corruption::PER_RECORD.to_vec(),
        scheme: Scheme::ChainMakerSm3,
        ..sm2_spec(500, 45)
    });
    let view = BlockView::parse(&generated.bytes).unwrap();
    let hashes: Vec<[u8; 32]> = view.records().iter().map(|r| r.message_sm3()).collect();
    let expected: Vec<Verdict> = view
        .records()
        .iter()
        .zip(&hashes)
        .map(|(r, h)| verify_sm2_single(&r.sm2_item(h).expect("an SM2 record")))
        .collect();
    for (r, v) in view.records().iter().zip(&expected) {
        assert_eq!(rustcrypto_accepts(r), *v == Verdict::Valid);
    }
    assert!(expected.iter().filter(|v| **v != Verdict::Valid).count() > 50);
    for threads in [1, 2, 3] {
        let verifier = Verifier::builder()
            .backend(Backend::Cpu)
            .threads(threads)
            .build()
            .unwrap();
        let report = verifier.verify_block(&view).unwrap();
        assert_eq!(signature_verdicts(&report), expected, "{threads} threads");
    }
}

/// The header a version-1 encoder wrote, byte by byte (the layout before version 2 existed).
fn v1_header_by_hand(scheme: u8, policy: u8, root: [u8; 32], count: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"BVBK");
    h.extend_from_slice(&1u16.to_le_bytes());
    h.push(scheme);
    h.push(policy);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&7u64.to_le_bytes());
    h.extend_from_slice(&[0xab; 32]);
    h.extend_from_slice(&root);
    h.extend_from_slice(&count.to_le_bytes());
    h.extend_from_slice(&1_700_000_000u64.to_le_bytes());
    assert_eq!(h.len(), 94);
    h
}

#[test]
fn a_version_1_block_still_parses_and_verifies() {
    use sha2::{Digest, Sha256};
    let key = SigningKey::from_seed(&[9; 32]);
    for (scheme, scheme_code, policy, policy_code) in [
        (Scheme::Rfc9162, 1, Policy::Zip215, 1),
        (Scheme::Bitcoin, 2, Policy::Strict, 2),
        (Scheme::FiscoBcos, 3, Policy::Zip215, 1),
    ] {
        // Records as the version-1 encoder laid them out: signature, key, tag, kind, length,
        // payload.
        let mut encodings = Vec::new();
        for i in 0..25u32 {
            let payload = format!("{{\"invoice\":{i}}}").into_bytes();
            let mut message = b"BVR1".to_vec();
            message.push(1);
            message.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            message.extend_from_slice(&payload);
            let mut record = key.sign(&message).to_vec();
            record.extend_from_slice(&key.public_key());
            record.extend_from_slice(&message);
            encodings.push(record);
        }
        let slices: Vec<&[u8]> = encodings.iter().map(Vec::as_slice).collect();
        let header = v1_header_by_hand(
            scheme_code,
            policy_code,
            independent_root(scheme, &slices),
            25,
        );
        let mut bytes = header.clone();
        for e in &encodings {
            bytes.extend_from_slice(e);
        }

        let view = BlockView::parse(&bytes).unwrap();
        let parsed = *view.header();
        assert_eq!(parsed.algorithm, SigAlgorithm::Ed25519(policy));
        assert_eq!(parsed.scheme, scheme);
        assert_eq!((parsed.height, parsed.record_count), (7, 25));
        assert_eq!(parsed.version(), 1);
        // It re-encodes to the same bytes, so its hash is the hash of what is on disk.
        assert_eq!(parsed.to_bytes().to_vec(), header);
        let on_disk: [u8; 32] = Sha256::digest(&header).into();
        assert_eq!(parsed.hash(), on_disk);
        for (r, e) in view.records().iter().zip(&encodings) {
            assert_eq!(r.bytes(), e.as_slice());
            assert_eq!(r.issuer(), &key.public_key()[..]);
            assert_eq!(r.sig_item().unwrap().public_key, &key.public_key());
            assert!(r.sm2_item(&[0; 32]).is_none());
            assert_eq!(r.payload(), &e[RECORD_OVERHEAD..]);
        }
        let report = cpu_verifier(Policy::Zip215)
            .verify_block_bytes(&bytes)
            .unwrap();
        assert!(report.is_valid(), "{scheme}");
        assert_eq!(report.block_hash(), on_disk);

        // A version-2 block continues the version-1 chain.
        let next = blockverify_testkit::generate_block(&BlockSpec {
            height: 8,
            prev_hash: on_disk,
            ..sm2_spec(20, 46)
        });
        let chain = cpu_verifier(Policy::Zip215).verify_chain(&[&bytes, &next.bytes]);
        assert!(chain.is_valid(), "{scheme}");
    }
}

#[test]
fn truncated_and_garbled_version_2_headers_are_format_errors() {
    let generated = blockverify_testkit::generate_block(&sm2_spec(6, 47));
    let good = generated.bytes.clone();
    // Truncation at every offset: an error at or before the cut, never a panic.
    for cut in 0..good.len() {
        let err = BlockView::parse(&good[..cut]).unwrap_err();
        assert!(err.offset <= cut, "cut {cut}: {err}");
    }
    let expect = |bytes: &[u8], offset: usize, kind: FormatErrorKind| {
        let err = BlockView::parse(bytes).unwrap_err();
        assert_eq!((err.offset, &err.kind), (offset, &kind), "{err}");
        assert!(!err.to_string().is_empty());
    };
    for code in [0u8, 3, 0x80, 0xff] {
        let mut b = good.clone();
        b[8] = code;
        expect(&b, 8, FormatErrorKind::UnknownAlgorithm(code));
    }
    // Ed25519 is written as version 1: a version-2 header naming it is a second encoding.
    let mut b = good.clone();
    b[8] = 1;
    expect(
        &b,
        4,
        FormatErrorKind::NonCanonicalVersion {
            version: 2,
            canonical: 1,
        },
    );
    // SM2 has no policy: byte 7 must be zero.
    for code in [1u8, 2, 0xff] {
        let mut b = good.clone();
        b[7] = code;
        expect(&b, 7, FormatErrorKind::PolicyNotApplicable(code));
    }
    let mut b = good.clone();
    b[9] = 1;
    expect(&b, 9, FormatErrorKind::ReservedNotZero);
    let mut b = good.clone();
    b[6] = 0;
    expect(&b, 6, FormatErrorKind::UnknownScheme(0));
    let mut b = good.clone();
    b[4] = 3;
    expect(&b, 4, FormatErrorKind::UnsupportedVersion(3));
    // A count the bytes cannot hold, at SM2's record size.
    let mut b = good.clone();
    b[82..86].copy_from_slice(&1000u32.to_le_bytes());
    expect(
        &b,
        82,
        FormatErrorKind::Truncated {
            what: "records (the declared count needs more bytes than the block has)",
            needed: 1000 * SM2_RECORD_OVERHEAD,
            available: good.len() - HEADER_LEN,
        },
    );
    // Record 0's fields sit 32 bytes later than an Ed25519 record's.
    let mut b = good.clone();
    b[HEADER_LEN + 128] = b'X';
    expect(&b, HEADER_LEN + 128, FormatErrorKind::BadRecordTag);
    let mut b = good.clone();
    b[HEADER_LEN + 132] = 9;
    expect(&b, HEADER_LEN + 132, FormatErrorKind::UnknownKind(9));
    let mut b = good.clone();
    b[HEADER_LEN + 133..HEADER_LEN + 137].copy_from_slice(&u32::MAX.to_le_bytes());
    expect(
        &b,
        HEADER_LEN + 133,
        FormatErrorKind::PayloadTooLarge {
            len: u32::MAX,
            limit: block::DEFAULT_MAX_PAYLOAD,
        },
    );
    // Every header byte set to every interesting value: an error or a block, never a panic,
    // and whatever parses re-encodes to its bytes.
    for at in 0..HEADER_LEN {
        for value in [0u8, 1, 2, 3, 0x7f, 0xff] {
            let mut b = good.clone();
            b[at] = value;
            if let Ok(view) = BlockView::parse(&b) {
                assert_eq!(&view.header().to_bytes()[..], &b[..HEADER_LEN], "byte {at}");
            }
        }
    }
}

#[test]
fn an_sm2_block_with_a_flipped_key_byte_names_the_record() {
    // A key that is no longer on the curve is the key check's verdict, not the equation's.
    let generated = blockverify_testkit::generate_block(&sm2_spec(4, 48));
    let mut b = generated.bytes.clone();
    let record_1 = HEADER_LEN + BlockView::parse(&b).unwrap().records()[0].bytes().len();
    b[record_1 + 64 + 63] ^= 1;
    let report = cpu_verifier(Policy::Zip215).verify_block_bytes(&b).unwrap();
    assert_eq!(report.bad_records(), vec![1]);
    assert_eq!(
        report.verdicts()[1],
        RecordVerdict::Invalid(Reason::KeyNotOnCurve)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_parse_round_trips(
        records in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<u8>(), 0..300)), 0..20),
        height in any::<u64>(),
        timestamp in any::<u64>(),
        prev in any::<[u8; 32]>(),
    ) {
        let key = SigningKey::from_seed(&[3; 32]);
        let mut body = Vec::new();
        for (kind, payload) in &records {
            let kind = RecordKind::from_code(*kind).unwrap();
            block::encode_record(&mut body, kind, &key.public_key(), payload, |m| key.sign(m));
        }
        let starts: Vec<&[u8]> = {
            let mut v = Vec::new();
            let mut at = 0;
            for (_, p) in &records {
                v.push(&body[at..at + RECORD_OVERHEAD + p.len()]);
                at += RECORD_OVERHEAD + p.len();
            }
            v
        };
        let header = Header {
            scheme: Scheme::Rfc9162,
            algorithm: SigAlgorithm::Ed25519(Policy::Zip215),
            height,
            prev_hash: prev,
            merkle_root: block::record_root(Scheme::Rfc9162, &starts).root(),
            record_count: records.len() as u32,
            timestamp,
        };
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let view = BlockView::parse(&bytes).unwrap();
        prop_assert_eq!(view.header(), &header);
        for (r, (kind, payload)) in view.records().iter().zip(&records) {
            prop_assert_eq!(r.kind().code(), *kind);
            prop_assert_eq!(r.payload(), payload.as_slice());
            prop_assert_eq!(r.issuer(), &key.public_key()[..]);
            let message = block::signed_message(r.kind(), payload);
            prop_assert_eq!(r.signed_message(), message.as_slice());
        }
        let report = Verifier::builder().backend(Backend::Cpu).build().unwrap()
            .verify_block(&view).unwrap();
        prop_assert!(report.is_valid());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = BlockView::parse(&bytes);
        // The same bytes behind a valid header prefix.
        let mut b = blockverify_testkit::generate_block(&spec(0, 12)).bytes;
        b[82..86].copy_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&bytes);
        let _ = BlockView::parse(&b);
        // And behind a valid version-2 (SM2) header; what parses also verifies.
        let mut b = blockverify_testkit::generate_block(&sm2_spec(0, 12)).bytes;
        b[82..86].copy_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&bytes);
        if let Ok(view) = BlockView::parse(&b) {
            let report = cpu_verifier(Policy::Zip215).verify_block(&view).unwrap();
            prop_assert_eq!(report.verdicts().len(), 2);
        }
    }

    #[test]
    fn sm2_encode_then_parse_round_trips(
        records in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<u8>(), 0..300)), 0..12),
        scheme in proptest::sample::select(Scheme::ALL.to_vec()),
        seed in any::<[u8; 32]>(),
    ) {
        use sm3::Digest;
        let key = Sm2SigningKey::from_seed(&seed);
        let mut body = Vec::new();
        let mut ends = Vec::new();
        for (kind, payload) in &records {
            let kind = RecordKind::from_code(*kind).unwrap();
            let message = block::signed_message(kind, payload);
            block::encode_sm2_record(&mut body, kind, &key.public_key(), payload, |hash| {
                // What the signer is given is the SM3 of the signed message.
                assert_eq!(hash[..], sm3::Sm3::digest(&message)[..]);
                key.sign(hash)
            });
            ends.push(body.len());
        }
        let encodings: Vec<&[u8]> = ends
            .iter()
            .scan(0, |start, &end| {
                let e = &body[*start..end];
                *start = end;
                Some(e)
            })
            .collect();
        let header = Header {
            scheme,
            algorithm: SigAlgorithm::Sm2,
            height: 1,
            prev_hash: [5; 32],
            merkle_root: block::record_root(scheme, &encodings).root(),
            record_count: records.len() as u32,
            timestamp: 2,
        };
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let view = BlockView::parse(&bytes).unwrap();
        prop_assert_eq!(view.header(), &header);
        prop_assert_eq!(Header::parse(&header.to_bytes()), Ok(header));
        for (r, (kind, payload)) in view.records().iter().zip(&records) {
            prop_assert_eq!(r.kind().code(), *kind);
            prop_assert_eq!(r.payload(), payload.as_slice());
            prop_assert_eq!(r.issuer(), &key.public_key()[..]);
            prop_assert_eq!(&r.message_sm3()[..], &sm3::Sm3::digest(r.signed_message())[..]);
            let hash = r.message_sm3();
            prop_assert_eq!(verify_sm2_single(&r.sm2_item(&hash).unwrap()), Verdict::Valid);
        }
        let report = cpu_verifier(Policy::Zip215).verify_block(&view).unwrap();
        prop_assert!(report.is_valid());
    }
}

/// Generated blocks under both algorithms draw the same records and corruptions from a seed.
#[test]
fn the_algorithm_changes_the_signatures_not_the_traffic() {
    let spec = BlockSpec {
        invalid_rate: 0.05,
        ..spec(300, 51)
    };
    let ed: GeneratedBlock = blockverify_testkit::generate_block(&spec);
    let sm: GeneratedBlock = blockverify_testkit::generate_block(&BlockSpec {
        algorithm: SigAlgorithm::Sm2,
        ..spec
    });
    assert_eq!(ed.corrupted, sm.corrupted);
    assert_eq!(ed.duplicate_of, sm.duplicate_of);
    let (ed, sm) = (
        BlockView::parse(&ed.bytes).unwrap(),
        BlockView::parse(&sm.bytes).unwrap(),
    );
    for (a, b) in ed.records().iter().zip(sm.records()) {
        assert_eq!(a.signed_message(), b.signed_message());
    }
}

/// Every corrupted record of `generated`, and no other, is bad in `report`, with the verdict
/// its corruption `how` must give.
fn assert_corruptions_named(
    generated: &GeneratedBlock,
    report: &block::BlockReport,
    how: Corruption,
) {
    let expected: Vec<usize> = generated.corrupted.iter().map(|&(i, _)| i).collect();
    assert_eq!(report.bad_records(), expected, "{how:?}");
    for &(i, _) in &generated.corrupted {
        let verdict = report.verdicts()[i];
        match how {
            Corruption::BadSignature | Corruption::TamperedPayload | Corruption::WrongKey => {
                assert_eq!(verdict, RecordVerdict::Invalid(Reason::EquationFailed))
            }
            Corruption::DuplicatedRecord => {
                let first = generated
                    .duplicate_of
                    .iter()
                    .find(|&&(d, _)| d == i)
                    .unwrap()
                    .1;
                assert_eq!(verdict, RecordVerdict::Duplicate { first });
            }
            _ => unreachable!(),
        }
    }
}
