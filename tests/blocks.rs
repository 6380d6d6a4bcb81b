//! The reference block format and `verify_block`: round trips, every corruption attributed to
//! its record, truncation at every offset, hostile headers, chains.

mod common;

use blockverify::block::{
    self, BlockError, BlockView, FormatErrorKind, HEADER_LEN, Header, Limits, RECORD_OVERHEAD,
    RecordKind, RecordVerdict,
};
use blockverify::merkle::{self, Scheme};
use blockverify::{Backend, Placement, Policy, Reason, Verifier};
use blockverify_testkit::SigningKey;
use blockverify_testkit::block::{BlockSpec, Corruption};
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
                policy,
                ..spec(500, 1)
            });
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

/// The header root of a generated block, under every scheme, against leaves computed here
/// independently of the crate's block code: RFC 9162 over the encodings, the others over ids
/// from the `sha2` and `sm3` crates.
#[test]
fn header_roots_match_independently_computed_leaves() {
    use sha2::{Digest, Sha256};
    for scheme in Scheme::ALL {
        let generated = blockverify_testkit::generate_block(&BlockSpec {
            scheme,
            ..spec(3001, 30)
        });
        let view = BlockView::parse(&generated.bytes).unwrap();
        assert_eq!(view.header().scheme, scheme);
        let encodings: Vec<&[u8]> = view.records().iter().map(|r| r.bytes()).collect();
        // Each scheme's record ids, with the peer crates: SHA-256d (Bitcoin), SM3 (FISCO BCOS,
        // ChainMaker SM3), SHA-256 (ChainMaker SHA-256).
        let ids: Vec<[u8; 32]> = encodings
            .iter()
            .map(|e| match scheme {
                Scheme::Bitcoin => Sha256::digest(Sha256::digest(e)).into(),
                Scheme::FiscoBcos | Scheme::ChainMakerSm3 => sm3::Sm3::digest(e).into(),
                _ => Sha256::digest(e).into(),
            })
            .collect();
        let root = if scheme.hashes_leaves() {
            merkle::merkle_root_reference(scheme, &encodings).unwrap()
        } else {
            merkle::merkle_root_reference(scheme, &ids).unwrap()
        };
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
        let expected: Vec<usize> = generated.corrupted.iter().map(|&(i, _)| i).collect();
        assert_eq!(report.bad_records(), expected, "{how:?}");
        for &(i, _) in &generated.corrupted {
            let verdict = report.verdicts()[i];
            match how {
                Corruption::BadSignature | Corruption::TamperedPayload => {
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
    let mut b = good.clone();
    b[4] = 2;
    expect(&b, 4, FormatErrorKind::UnsupportedVersion(2));
    let mut b = good.clone();
    b[6] = 9;
    expect(&b, 6, FormatErrorKind::UnknownScheme(9));
    let mut b = good.clone();
    b[7] = 0;
    expect(&b, 7, FormatErrorKind::UnknownPolicy(0));
    let mut b = good.clone();
    b[9] = 1;
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
            policy,
            invalid_rate: 0.1,
            ..spec(40, 8)
        });
        let view = BlockView::parse(&generated.bytes).expect("block");
        let items: Vec<_> = view.records().iter().map(|r| r.sig_item()).collect();
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
            policy: Policy::Zip215,
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
            prop_assert_eq!(r.issuer(), &key.public_key());
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
    }
}
