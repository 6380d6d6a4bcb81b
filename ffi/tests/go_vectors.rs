//! The Go package's SM2 vectors (go/blockverify/testdata/sm2.txt, the fixture format of
//! tests/common) carry the Rust API's verdicts: the Go tests compare the package with them, so
//! the Go side is checked against the library without Rust in `go test`. Regenerate with
//! `BLOCKVERIFY_BLESS_GO_VECTORS=1 cargo test -p blockverify-ffi --test go_vectors`.

mod common;

use blockverify::{Sm2Item, Verdict};
use common::{Fixture, rust_verifier, sm2_cases, verdict_code};

fn path() -> std::path::PathBuf {
    common::repo_root().join("ffi/go/blockverify/testdata/sm2.txt")
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        Vec::new()
    } else {
        hex::decode(s).expect("hex")
    }
}

#[test]
fn the_go_sm2_vectors_carry_the_rust_apis_verdicts() {
    let v = rust_verifier();
    if std::env::var_os("BLOCKVERIFY_BLESS_GO_VECTORS").is_some() {
        let mut f = Fixture::default();
        f.sm2(&v, "sm2", false, &sm2_cases("sm2", false));
        f.sm2(&v, "sm2_ids", false, &sm2_cases("sm2_ids", false));
        f.sm2(&v, "sm2_ex", true, &sm2_cases("sm2_ex", true));
        f.sm2(&v, "sm2_ex", false, &sm2_cases("sm2_ex", false));
        std::fs::write(path(), f.text).expect("write the Go vectors");
        return;
    }
    let text = std::fs::read_to_string(path()).expect("go/blockverify/testdata/sm2.txt");
    let mut lines = text.lines();
    let mut checked = 0;
    let mut seen = std::collections::BTreeSet::new();
    while let Some(header) = lines.next() {
        let fields: Vec<&str> = header.split(' ').collect();
        let n: usize = fields.last().expect("a count").parse().expect("a count");
        let (has_id, der) = match fields[0] {
            "sm2" => (false, false),
            "sm2_ids" => (true, false),
            "sm2_ex" => (true, fields[1] == "1"),
            other => panic!("unknown section {other}"),
        };
        for _ in 0..n {
            let item: Vec<&str> = lines.next().expect("an item line").split(' ').collect();
            let (key, sig, msg) = (unhex(item[0]), unhex(item[1]), unhex(item[2]));
            let id = has_id.then(|| unhex(item[3]));
            let want: u8 = item.last().expect("a verdict").parse().expect("a number");
            let base = if der {
                Sm2Item::der(&key, &sig, &msg)
            } else {
                match <&[u8; 64]>::try_from(&sig[..]) {
                    Ok(rs) => Sm2Item::new(&key, rs, &msg),
                    Err(_) => Sm2Item::der(&key, &[], &msg),
                }
            };
            let item = match &id {
                Some(id) => base.with_id(id),
                None => base,
            };
            let got: Verdict = v.verify_sm2(&[item]).verdicts()[0];
            assert_eq!(verdict_code(got), want, "{header}: item {checked}");
            seen.insert(want);
            checked += 1;
        }
    }
    assert!(checked > 90, "only {checked} vectors");
    assert!(seen.len() >= 6, "the vectors cover only verdicts {seen:?}");
}
