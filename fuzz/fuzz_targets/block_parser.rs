//! The block parser on arbitrary bytes: never panics; what it accepts re-encodes to the same
//! bytes; a parsed block verifies without panicking and its verdicts match the reference —
//! for Ed25519 blocks (format version 1) and SM2 blocks (version 2).
//!
//! The input is parsed as it is, and also behind a valid header of each version (its record
//! count from the first input byte), so the record parsers of both layouts are reached at
//! once rather than only after the fuzzer has found a header.
#![no_main]

use blockverify::block::{BlockView, HEADER_LEN, Header, Limits, RecordVerdict, SigAlgorithm};
use blockverify::merkle::Scheme;
use blockverify::sig::sm2::verify_sm2_single;
use blockverify::{Backend, Policy, Verdict, Verifier, verify_single};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(data);
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    for algorithm in [SigAlgorithm::Ed25519(Policy::Strict), SigAlgorithm::Sm2] {
        let header = Header {
            scheme: Scheme::ALL[usize::from(first >> 4) % Scheme::ALL.len()],
            algorithm,
            height: 0,
            prev_hash: [0; 32],
            merkle_root: [0; 32],
            record_count: u32::from(first & 0x0f),
            timestamp: 0,
        };
        let mut block = header.to_bytes().to_vec();
        block.extend_from_slice(rest);
        check(&block);
    }
});

fn check(data: &[u8]) {
    // Tight limits too, so the limit paths are exercised.
    let _ = BlockView::parse_with(
        data,
        Limits {
            max_records: 3,
            max_payload: 64,
        },
    );
    let Ok(view) = BlockView::parse(data) else {
        return;
    };
    // Round trip: the header re-encodes to its bytes (one encoding per header, in either
    // version) and the records tile the rest.
    assert_eq!(&view.header().to_bytes()[..], &data[..HEADER_LEN]);
    assert_eq!(Header::parse(data), Ok(*view.header()));
    let mut at = HEADER_LEN;
    for r in view.records() {
        assert_eq!(r.bytes(), &data[at..at + r.bytes().len()]);
        assert_eq!(r.algorithm(), view.header().algorithm);
        assert_eq!(r.issuer().len(), view.header().algorithm.key_len());
        at += r.bytes().len();
    }
    assert_eq!(at, data.len());

    // The verifier's default policy is deliberately not the block's half of the time: a
    // block is verified under the algorithm and policy it declares.
    let verifier = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(1)
        .build()
        .expect("verifier");
    match verifier.verify_block(&view) {
        Ok(report) => {
            assert_eq!(report.verdicts().len(), view.records().len());
            for (v, r) in report.verdicts().iter().zip(view.records()) {
                let single = match view.header().algorithm {
                    SigAlgorithm::Ed25519(policy) => {
                        verify_single(policy, &r.sig_item().expect("an Ed25519 record"))
                    }
                    SigAlgorithm::Sm2 => {
                        let hash = r.message_sm3();
                        verify_sm2_single(&r.sm2_item(&hash).expect("an SM2 record"))
                    }
                    other => panic!("no reference for {other:?}"),
                };
                assert_eq!(
                    v.is_valid() || matches!(v, RecordVerdict::Duplicate { .. }),
                    single == Verdict::Valid
                );
                if let (RecordVerdict::Invalid(reason), Verdict::Invalid(expected)) = (v, single) {
                    assert_eq!(*reason, expected);
                }
            }
        }
        Err(e) => panic!("a parsed block failed to verify: {e}"),
    }
}
