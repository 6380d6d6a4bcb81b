//! The `blockverify sigs` JSON-lines reader on arbitrary input: never panics, writes exactly
//! one well-formed verdict line per input line, in order.
#![no_main]
#![allow(dead_code)]

use blockverify::{Backend, Policy, Verifier};
use libfuzzer_sys::fuzz_target;

/// The binary's module, compiled here as it is there (the CLI is not part of the library);
/// it names its error type through its parent, this crate root.
#[path = "../../cli/src/cli/sigs.rs"]
mod sigs;
type CliError = Box<dyn std::error::Error + Send + Sync>;

fuzz_target!(|data: &[u8]| {
    let verifier = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(1)
        .build()
        .expect("verifier");
    let first = data.first().copied().unwrap_or(0);
    let window = 1 + (first & 0x7f) as usize % 7;
    let alg = if first & 0x80 == 0 {
        sigs::Alg::Ed25519(Policy::Zip215)
    } else {
        sigs::Alg::Sm2
    };
    let mut out = Vec::new();
    let all_valid =
        sigs::verify_stream(&verifier, alg, data, &mut out, window, 512).expect("no I/O errors");
    let text = String::from_utf8(out).expect("output is UTF-8");
    // A final line without '\\n' still counts; an empty input has no lines.
    let lines =
        data.split(|&b| b == b'\n').count() - usize::from(data.ends_with(b"\n") || data.is_empty());
    let written: Vec<&str> = text.lines().collect();
    assert_eq!(written.len(), lines);
    for (i, line) in written.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["index"], i as u64);
        assert!(v["valid"].is_boolean());
    }
    assert_eq!(
        all_valid,
        written.iter().all(|l| l.contains("\"valid\":true"))
    );
});
