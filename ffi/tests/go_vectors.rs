//! The Go package's test vectors (go/blockverify/testdata/*.txt, the fixture format of
//! tests/common) carry the Rust API's verdicts and roots: the Go tests compare the package
//! with them, so `go test` checks the Go side against the library without running Rust. This
//! test checks the committed files still hold the Rust API's answers; regenerate them with
//! `BLOCKVERIFY_BLESS_GO_VECTORS=1 cargo test -p blockverify-ffi --test go_vectors`.

mod common;

use std::collections::BTreeSet;

use blockverify::block::{RecordVerdict, SigAlgorithm};
use blockverify::merkle::Scheme;
use blockverify::{Policy, Sm2Item};
use common::{
    Fixture, SCHEMES, abi_code, merkle_sections, rust_verifier, sm2_cases, test_block, verdict_code,
};

fn path(name: &str) -> std::path::PathBuf {
    common::repo_root()
        .join("ffi/go/blockverify/testdata")
        .join(name)
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        Vec::new()
    } else {
        hex::decode(s).expect("hex")
    }
}

fn bless() -> bool {
    std::env::var_os("BLOCKVERIFY_BLESS_GO_VECTORS").is_some()
}

#[test]
fn the_go_sm2_vectors_carry_the_rust_apis_verdicts() {
    let v = rust_verifier();
    if bless() {
        let mut f = Fixture::default();
        f.sm2(&v, "sm2", false, &sm2_cases("sm2", false));
        f.sm2(&v, "sm2_ids", false, &sm2_cases("sm2_ids", false));
        f.sm2(&v, "sm2_ex", true, &sm2_cases("sm2_ex", true));
        f.sm2(&v, "sm2_ex", false, &sm2_cases("sm2_ex", false));
        std::fs::write(path("sm2.txt"), f.text).expect("write the Go vectors");
        return;
    }
    let text = std::fs::read_to_string(path("sm2.txt")).expect("testdata/sm2.txt");
    let mut lines = text.lines();
    let mut checked = 0;
    let mut seen = BTreeSet::new();
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
            let got = v.verify_sm2(&[item]).verdicts()[0];
            assert_eq!(verdict_code(got), want, "{header}: item {checked}");
            seen.insert(want);
            checked += 1;
        }
    }
    assert!(checked > 90, "only {checked} vectors");
    assert!(seen.len() >= 6, "the vectors cover only verdicts {seen:?}");
}

#[test]
fn the_go_merkle_vectors_carry_the_rust_apis_roots() {
    let v = rust_verifier();
    if bless() {
        let mut f = Fixture::default();
        merkle_sections(&mut f, &v, &[0, 1, 2, 3, 4, 5, 7, 8, 9, 33, 257]);
        std::fs::write(path("merkle.txt"), f.text).expect("write the Go vectors");
        return;
    }
    let text = std::fs::read_to_string(path("merkle.txt")).expect("testdata/merkle.txt");
    let mut lines = text.lines();
    let mut checked = 0;
    while let Some(header) = lines.next() {
        let fields: Vec<&str> = header.split(' ').collect();
        assert_eq!(fields[0], "merkle", "{header}");
        let code: i32 = fields[1].parse().expect("a scheme");
        let n: usize = fields[2].parse().expect("a count");
        let scheme: Scheme = SCHEMES
            .iter()
            .find(|s| s.1 == code)
            .expect("a known scheme")
            .0;
        let leaves: Vec<Vec<u8>> = (0..n)
            .map(|_| unhex(lines.next().expect("a leaf")))
            .collect();
        let want = lines.next().expect("a root line");
        let got = match v.merkle_root(scheme, &leaves) {
            Ok(report) => format!("root {}", hex::encode(report.root())),
            Err(_) => "root error".to_string(),
        };
        assert_eq!(got, want, "{header}");
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} trees");
}

#[test]
fn the_go_block_vector_carries_the_rust_apis_verdicts() {
    let v = rust_verifier();
    if bless() {
        let mut f = Fixture::default();
        f.block(
            &v,
            &test_block(40, SigAlgorithm::Ed25519(Policy::Zip215), Scheme::FiscoBcos),
        );
        std::fs::write(path("block.txt"), f.text).expect("write the Go vectors");
        return;
    }
    let text = std::fs::read_to_string(path("block.txt")).expect("testdata/block.txt");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("block 1"));
    let fields: Vec<&str> = lines.next().expect("the block").split(' ').collect();
    let report = v
        .verify_block_bytes(&unhex(fields[0]))
        .expect("well-formed");
    assert_eq!(fields[1], report.bad_records().len().to_string());
    assert!(
        !report.bad_records().is_empty(),
        "the block has bad records"
    );
    assert_eq!(fields[2], u8::from(report.is_valid()).to_string());
    assert_eq!(fields[3], hex::encode(report.computed_root()));
    let codes: Vec<String> = report
        .verdicts()
        .iter()
        .map(|&r| match r {
            RecordVerdict::Valid => 0,
            RecordVerdict::Invalid(reason) => abi_code(reason),
            _ => 255,
        })
        .map(|c| c.to_string())
        .collect();
    assert_eq!(fields[4], codes.join(","));
}
