//! The block parser on arbitrary bytes: never panics; what it accepts re-encodes to the same
//! bytes; a parsed block verifies without panicking and its verdicts match the reference.
#![no_main]

use blockverify::block::{BlockView, HEADER_LEN, Limits};
use blockverify::{Backend, Verdict, Verifier, verify_single};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
    // Round trip: the header re-encodes to its bytes and the records tile the rest.
    assert_eq!(&view.header().to_bytes()[..], &data[..HEADER_LEN]);
    let mut at = HEADER_LEN;
    for r in view.records() {
        assert_eq!(r.bytes(), &data[at..at + r.bytes().len()]);
        at += r.bytes().len();
    }
    assert_eq!(at, data.len());

    // The verifier's default policy is deliberately not the block's half of the time: a
    // block is verified under the policy it declares.
    let verifier = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(1)
        .build()
        .expect("verifier");
    match verifier.verify_block(&view) {
        Ok(report) => {
            assert_eq!(report.verdicts().len(), view.records().len());
            for (v, r) in report.verdicts().iter().zip(view.records()) {
                let single = verify_single(view.header().policy, &r.sig_item());
                assert_eq!(
                    v.is_valid()
                        || matches!(v, blockverify::block::RecordVerdict::Duplicate { .. }),
                    single == Verdict::Valid
                );
            }
        }
        Err(e) => panic!("a parsed block failed to verify: {e}"),
    }
});
