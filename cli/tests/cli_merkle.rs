//! End-to-end tests of `blockverify merkle` and `blockverify bench merkle`: reference roots,
//! proof round trips, tampering, exit codes, malformed input.

mod common;
use common::{blockverify, stderr, stdout};

use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Runs and checks the exit status, showing stderr when it differs.
fn run(args: &[&str], stdin: &[u8], code: i32) -> Output {
    let out = blockverify(args, stdin);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    out
}

/// The RFC 6962 / certificate-transparency reference tree of 8 leaves.
const RFC6962_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const RFC6962_ROOT: &str = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
const EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Bitcoin block 100000, txids in display order, and its Merkle root.
const BLOCK_100000: [&str; 4] = [
    "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
    "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
    "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
    "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
];
const BLOCK_100000_ROOT: &str = "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766";

fn lines(leaves: &[&str]) -> String {
    leaves.iter().map(|l| format!("{l}\n")).collect()
}

/// `n` (at most 256) distinct leaves of 1 to 7 bytes.
fn generated_leaves(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| hex::encode((0..=i % 7).map(|j| (i * 31 + j) as u8).collect::<Vec<u8>>()))
        .collect()
}

fn root_of(scheme: &str, input: &str) -> String {
    let out = run(&["merkle", "root", "--scheme", scheme], input.as_bytes(), 0);
    stdout(&out)
}

fn json(o: &Output) -> Value {
    let text = stdout(o);
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(&text).expect("JSON output")
}

#[test]
fn rfc6962_reference_root_and_line_endings() {
    let input = lines(&RFC6962_LEAVES);
    assert_eq!(root_of("rfc9162", &input), format!("{RFC6962_ROOT}\n"));
    // rfc6962 is accepted as another name of the same scheme.
    assert_eq!(root_of("rfc6962", &input), format!("{RFC6962_ROOT}\n"));
    // CRLF endings and a missing final newline give the same leaves.
    let crlf = RFC6962_LEAVES.join("\r\n") + "\r\n";
    assert_eq!(root_of("rfc9162", &crlf), format!("{RFC6962_ROOT}\n"));
    let unterminated = RFC6962_LEAVES.join("\n");
    assert_eq!(
        root_of("rfc9162", &unterminated),
        format!("{RFC6962_ROOT}\n")
    );
    // From a file, with explicit backend and threads.
    let dir = temp_dir("root");
    let file = dir.join("leaves.txt");
    std::fs::write(&file, &input).expect("write leaves");
    let out = run(
        &[
            "merkle",
            "root",
            "--scheme",
            "rfc9162",
            "--backend",
            "cpu",
            "--threads",
            "1",
            file.to_str().expect("utf-8 path"),
        ],
        b"",
        0,
    );
    assert_eq!(stdout(&out), format!("{RFC6962_ROOT}\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn empty_input_and_empty_leaves() {
    assert_eq!(root_of("rfc9162", ""), format!("{EMPTY_ROOT}\n"));
    // "\n" is one empty leaf: SHA-256(0x00).
    assert_eq!(
        root_of("rfc9162", "\n"),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d\n"
    );
    assert_eq!(root_of("bitcoin", ""), format!("{}\n", "00".repeat(32)));
}

#[test]
fn bitcoin_block_100000_root_in_display_order() {
    assert_eq!(
        root_of("bitcoin", &lines(&BLOCK_100000)),
        format!("{BLOCK_100000_ROOT}\n")
    );
    // One txid: the root is the txid itself.
    assert_eq!(
        root_of("bitcoin", &lines(&BLOCK_100000[..1])),
        format!("{}\n", BLOCK_100000[0])
    );
}

#[test]
fn bitcoin_duplicate_pairs_warn_and_exit_one_with_the_root() {
    // Three txids, and the same three with the third repeated: same root, the second mutated.
    let three = &BLOCK_100000[..3];
    let honest = root_of("bitcoin", &lines(three));
    let mutated = [three[0], three[1], three[2], three[2]];
    let out = run(
        &["merkle", "root", "--scheme", "bitcoin"],
        lines(&mutated).as_bytes(),
        1,
    );
    assert_eq!(stdout(&out), honest);
    assert!(
        stderr(&out).contains(
            "warning: CVE-2012-2459 duplicate pair at level 0 index 2: another transaction list has the same root"
        ),
        "{}",
        stderr(&out)
    );

    // Six txids, and the same six with the last two repeated: the pair is one level up.
    let six: Vec<String> = BLOCK_100000
        .iter()
        .map(|s| s.to_string())
        .chain(["11".repeat(32), "22".repeat(32)])
        .collect();
    let six: Vec<&str> = six.iter().map(String::as_str).collect();
    let honest = root_of("bitcoin", &lines(&six));
    let mut eight = six.clone();
    eight.extend_from_slice(&six[4..]);
    let out = run(
        &["merkle", "root", "--scheme", "bitcoin"],
        lines(&eight).as_bytes(),
        1,
    );
    assert_eq!(stdout(&out), honest);
    assert!(
        stderr(&out).contains("duplicate pair at level 1 index 2"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_leaf_input_names_the_line_and_exits_two() {
    let out = run(&["merkle", "root", "--scheme", "rfc9162"], b"00\n0g\n", 2);
    assert!(stderr(&out).contains("line 2: bad hex"), "{}", stderr(&out));
    let out = run(
        &["merkle", "root", "--scheme", "rfc9162"],
        b"00\n\n123\n",
        2,
    );
    assert!(stderr(&out).contains("line 3: bad hex"), "{}", stderr(&out));
    let input = format!("{}\n{}00\n", BLOCK_100000[0], BLOCK_100000[1]);
    let out = run(
        &["merkle", "root", "--scheme", "bitcoin"],
        input.as_bytes(),
        2,
    );
    assert!(
        stderr(&out).contains("line 2: a bitcoin txid is 64 hex digits"),
        "{}",
        stderr(&out)
    );
    let out = run(&["merkle", "root", "--scheme", "bitcoin"], b"\n", 2);
    assert!(stderr(&out).contains("line 1:"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_two() {
    // A GPU that is not there (no adapter has this name) is refused before input is read.
    let out = Command::new(env!("CARGO_BIN_EXE_blockverify"))
        .args(["merkle", "root", "--scheme", "rfc9162", "--backend", "gpu"])
        .env("BLOCKVERIFY_GPU_ADAPTER", "no adapter is called this")
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("GPU backend unavailable"),
        "{}",
        stderr(&out)
    );
    run(&["merkle", "root", "--scheme", "sha3"], b"", 2);
    run(&["merkle", "root"], b"", 2);
    let out = run(
        &[
            "merkle",
            "root",
            "--scheme",
            "rfc9162",
            "/nonexistent/blockverify-leaves.txt",
        ],
        b"",
        2,
    );
    assert!(stderr(&out).contains("cannot open"), "{}", stderr(&out));
    // verify-inclusion needs exactly one of --leaf and --leaf-hash.
    run(
        &["merkle", "verify-inclusion", "--scheme", "rfc9162"],
        b"{}",
        2,
    );
    run(
        &[
            "merkle",
            "verify-inclusion",
            "--scheme",
            "rfc9162",
            "--leaf",
            "00",
            "--leaf-hash",
            EMPTY_ROOT,
        ],
        b"{}",
        2,
    );
    for cmd in [
        "root",
        "prove",
        "consistency",
        "verify-inclusion",
        "verify-consistency",
    ] {
        let help = run(&["merkle", cmd, "--help"], b"", 0);
        assert!(!help.stdout.is_empty(), "{cmd}");
    }
}

fn prove(scheme: &str, leaves: &str, index: usize) -> Output {
    run(
        &[
            "merkle",
            "prove",
            "--scheme",
            scheme,
            "--index",
            &index.to_string(),
        ],
        leaves.as_bytes(),
        0,
    )
}

fn verify_inclusion(scheme: &str, flag: &str, leaf: &str, proof: &str, code: i32) -> String {
    let out = run(
        &["merkle", "verify-inclusion", "--scheme", scheme, flag, leaf],
        proof.as_bytes(),
        code,
    );
    stdout(&out)
}

#[test]
fn prove_prints_the_rfc6962_reference_path_with_keys_in_order() {
    let out = prove("rfc9162", &lines(&RFC6962_LEAVES), 0);
    let text = stdout(&out);
    let keys = [
        "\"index\":",
        "\"size\":",
        "\"root\":",
        "\"leaf_hash\":",
        "\"path\":",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| text.find(k).expect("key present"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let proof = json(&out);
    assert_eq!(proof.as_object().expect("object").len(), 5, "{text}");
    assert_eq!(proof["index"], 0);
    assert_eq!(proof["size"], 8);
    assert_eq!(proof["root"], RFC6962_ROOT);
    assert_eq!(
        proof["leaf_hash"],
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
    assert_eq!(
        proof["path"],
        serde_json::json!([
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
        ])
    );
}

#[test]
fn prove_then_verify_inclusion_round_trips() {
    for (leaves, indices) in [
        (
            RFC6962_LEAVES.iter().map(|s| s.to_string()).collect(),
            vec![0, 1, 2, 3, 4, 5, 6, 7],
        ),
        (generated_leaves(1), vec![0]),
        (generated_leaves(37), vec![0, 5, 31, 32, 35, 36]),
    ] {
        let refs: Vec<&str> = leaves.iter().map(String::as_str).collect();
        let input = lines(&refs);
        let root = root_of("rfc9162", &input);
        for index in indices {
            let out = prove("rfc9162", &input, index);
            let proof = json(&out);
            assert_eq!(format!("{}\n", proof["root"].as_str().unwrap()), root);
            assert_eq!(proof["size"], leaves.len());
            let text = stdout(&out);
            let leaf = &leaves[index];
            assert_eq!(
                verify_inclusion("rfc9162", "--leaf", leaf, &text, 0),
                "valid\n"
            );
            let hash = proof["leaf_hash"].as_str().unwrap();
            assert_eq!(
                verify_inclusion("rfc9162", "--leaf-hash", hash, &text, 0),
                "valid\n"
            );
        }
    }
}

#[test]
fn bitcoin_prove_and_verify_inclusion_in_display_order() {
    let input = lines(&BLOCK_100000);
    for (index, txid) in BLOCK_100000.iter().enumerate() {
        let out = prove("bitcoin", &input, index);
        let proof = json(&out);
        assert_eq!(proof["root"], BLOCK_100000_ROOT);
        assert_eq!(proof["leaf_hash"], *txid);
        assert_eq!(proof["path"].as_array().unwrap().len(), 2);
        let text = stdout(&out);
        assert_eq!(
            verify_inclusion("bitcoin", "--leaf", txid, &text, 0),
            "valid\n"
        );
        assert_eq!(
            verify_inclusion("bitcoin", "--leaf-hash", txid, &text, 0),
            "valid\n"
        );
        let other = BLOCK_100000[(index + 1) % 4];
        assert!(verify_inclusion("bitcoin", "--leaf", other, &text, 1).starts_with("invalid: "));
    }
    // An odd level: the lone last txid is paired with itself.
    let three = lines(&BLOCK_100000[..3]);
    let text = stdout(&prove("bitcoin", &three, 2));
    assert_eq!(
        verify_inclusion("bitcoin", "--leaf", BLOCK_100000[2], &text, 0),
        "valid\n"
    );
}

/// Flips one bit of a hex hash.
fn flip(hash: &str) -> String {
    let mut bytes = hex::decode(hash).expect("hex");
    bytes[5] ^= 0x10;
    hex::encode(bytes)
}

#[test]
fn tampered_inclusion_proofs_are_invalid() {
    let leaves = generated_leaves(21);
    let refs: Vec<&str> = leaves.iter().map(String::as_str).collect();
    let input = lines(&refs);
    let index = 13;
    let proof = json(&prove("rfc9162", &input, index));
    let leaf = &leaves[index];
    let check = |p: &Value, code: i32| -> String {
        verify_inclusion("rfc9162", "--leaf", leaf, &p.to_string(), code)
    };
    assert_eq!(check(&proof, 0), "valid\n");

    let path_len = proof["path"].as_array().unwrap().len();
    for i in 0..path_len {
        let mut p = proof.clone();
        p["path"][i] = Value::String(flip(proof["path"][i].as_str().unwrap()));
        assert_eq!(check(&p, 1), "invalid: recomputed root does not match\n");
    }
    let mut p = proof.clone();
    p["root"] = Value::String(flip(proof["root"].as_str().unwrap()));
    assert_eq!(check(&p, 1), "invalid: recomputed root does not match\n");

    let mut p = proof.clone();
    p["index"] = Value::from(index + 1);
    assert!(check(&p, 1).starts_with("invalid: "));

    // (A size with the same path shape, such as 22 here, verifies: the root is what binds
    // the size. A larger tree needs a longer path.)
    let mut p = proof.clone();
    p["size"] = Value::from(leaves.len() * 4);
    assert!(check(&p, 1).starts_with("invalid: proof has "));

    let mut p = proof.clone();
    p["index"] = Value::from(leaves.len());
    assert_eq!(
        check(&p, 1),
        format!(
            "invalid: leaf index {} is not below tree size {}\n",
            leaves.len(),
            leaves.len()
        )
    );

    let mut p = proof.clone();
    p["path"].as_array_mut().unwrap().pop();
    assert!(check(&p, 1).starts_with("invalid: proof has "));

    // A different leaf: caught by the proof's leaf_hash, or by the root without it.
    let other = &leaves[index + 1];
    let text = proof.to_string();
    assert_eq!(
        verify_inclusion("rfc9162", "--leaf", other, &text, 1),
        "invalid: leaf_hash in the proof does not match the leaf\n"
    );
    let mut p = proof.clone();
    p.as_object_mut().unwrap().remove("leaf_hash");
    assert_eq!(check(&p, 0), "valid\n");
    assert_eq!(
        verify_inclusion("rfc9162", "--leaf", other, &p.to_string(), 1),
        "invalid: recomputed root does not match\n"
    );
    // Unknown fields are ignored.
    let mut p = proof.clone();
    p["comment"] = Value::from("served by log X");
    assert_eq!(check(&p, 0), "valid\n");
}

#[test]
fn malformed_inclusion_proofs_exit_two() {
    let input = lines(&RFC6962_LEAVES);
    let proof = json(&prove("rfc9162", &input, 3));
    let leaf = RFC6962_LEAVES[3];
    let malformed = |p: String| -> String {
        let out = run(
            &[
                "merkle",
                "verify-inclusion",
                "--scheme",
                "rfc9162",
                "--leaf",
                leaf,
            ],
            p.as_bytes(),
            2,
        );
        assert!(out.stdout.is_empty());
        stderr(&out)
    };
    let with = |key: &str, value: Value| {
        let mut p = proof.clone();
        p[key] = value;
        p.to_string()
    };
    let without = |key: &str| {
        let mut p = proof.clone();
        p.as_object_mut().unwrap().remove(key);
        p.to_string()
    };
    assert!(malformed("not json".into()).contains("bad JSON"));
    assert!(malformed(String::new()).contains("bad JSON"));
    for key in ["index", "size", "root", "path"] {
        assert!(malformed(without(key)).contains(key), "missing {key}");
    }
    assert!(malformed(with("index", Value::from(-1))).contains("bad JSON"));
    assert!(malformed(with("index", Value::from(1.5))).contains("bad JSON"));
    assert!(malformed(with("size", Value::from("8"))).contains("bad JSON"));
    assert!(malformed(with("path", Value::from("ab"))).contains("bad JSON"));
    let short = proof["root"].as_str().unwrap()[2..].to_string();
    assert!(malformed(with("root", Value::from(short))).contains("root: expected 64 hex digits"));
    let bad = format!("zz{}", &proof["root"].as_str().unwrap()[2..]);
    assert!(malformed(with("root", Value::from(bad.clone()))).contains("root: bad hex"));
    assert!(malformed(with("leaf_hash", Value::from(bad.clone()))).contains("leaf_hash: bad hex"));
    let mut p = proof.clone();
    p["path"][1] = Value::from(bad);
    assert!(malformed(p.to_string()).contains("path[1]: bad hex"));
    let mut p = proof.clone();
    p["path"][0] = Value::from("00");
    assert!(malformed(p.to_string()).contains("path[0]: expected 64 hex digits"));
    // A bad --leaf or --leaf-hash.
    let text = proof.to_string();
    run(
        &[
            "merkle",
            "verify-inclusion",
            "--scheme",
            "rfc9162",
            "--leaf",
            "0",
        ],
        text.as_bytes(),
        2,
    );
    run(
        &[
            "merkle",
            "verify-inclusion",
            "--scheme",
            "rfc9162",
            "--leaf-hash",
            "00",
        ],
        text.as_bytes(),
        2,
    );
    run(
        &[
            "merkle",
            "verify-inclusion",
            "--scheme",
            "bitcoin",
            "--leaf",
            "00",
        ],
        text.as_bytes(),
        2,
    );
}

#[test]
fn prove_index_out_of_range_exits_two() {
    let input = lines(&RFC6962_LEAVES);
    let out = run(
        &["merkle", "prove", "--scheme", "rfc9162", "--index", "8"],
        input.as_bytes(),
        2,
    );
    assert!(stderr(&out).contains("leaf index 8"), "{}", stderr(&out));
    run(
        &["merkle", "prove", "--scheme", "rfc9162", "--index", "0"],
        b"",
        2,
    );
    run(
        &["merkle", "prove", "--scheme", "rfc9162", "--index", "-1"],
        input.as_bytes(),
        2,
    );
}

fn consistency(leaves: &str, old: usize, code: i32) -> Output {
    run(
        &[
            "merkle",
            "consistency",
            "--scheme",
            "rfc9162",
            "--old",
            &old.to_string(),
        ],
        leaves.as_bytes(),
        code,
    )
}

fn verify_consistency(proof: &str, code: i32) -> String {
    stdout(&run(
        &["merkle", "verify-consistency", "--scheme", "rfc9162"],
        proof.as_bytes(),
        code,
    ))
}

#[test]
fn consistency_then_verify_consistency_round_trips() {
    let leaves = generated_leaves(13);
    let refs: Vec<&str> = leaves.iter().map(String::as_str).collect();
    let input = lines(&refs);
    let new_root = root_of("rfc9162", &input);
    for old in 0..=leaves.len() {
        let out = consistency(&input, old, 0);
        let text = stdout(&out);
        let keys = [
            "\"old\":",
            "\"new\":",
            "\"old_root\":",
            "\"new_root\":",
            "\"proof\":",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(k).expect("key present"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        let proof = json(&out);
        assert_eq!(proof.as_object().unwrap().len(), 5);
        assert_eq!(proof["old"], old);
        assert_eq!(proof["new"], leaves.len());
        assert_eq!(
            format!("{}\n", proof["old_root"].as_str().unwrap()),
            root_of("rfc9162", &lines(&refs[..old]))
        );
        assert_eq!(
            format!("{}\n", proof["new_root"].as_str().unwrap()),
            new_root
        );
        assert_eq!(verify_consistency(&text, 0), "valid\n", "old {old}");
    }
}

#[test]
fn consistency_matches_the_rfc6962_reference_proof() {
    let proof = json(&consistency(&lines(&RFC6962_LEAVES), 3, 0));
    assert_eq!(
        proof["proof"],
        serde_json::json!([
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
        ])
    );
}

#[test]
fn tampered_consistency_proofs_are_invalid() {
    let leaves = generated_leaves(13);
    let refs: Vec<&str> = leaves.iter().map(String::as_str).collect();
    let input = lines(&refs);
    let proof = json(&consistency(&input, 5, 0));
    let n = proof["proof"].as_array().unwrap().len();
    assert!(n > 1);
    for i in 0..n {
        let mut p = proof.clone();
        p["proof"][i] = Value::String(flip(proof["proof"][i].as_str().unwrap()));
        assert!(verify_consistency(&p.to_string(), 1).starts_with("invalid: "));
    }
    for key in ["old_root", "new_root"] {
        let mut p = proof.clone();
        p[key] = Value::String(flip(proof[key].as_str().unwrap()));
        assert!(verify_consistency(&p.to_string(), 1).starts_with("invalid: proof does not"));
    }
    let mut p = proof.clone();
    p["old"] = Value::from(14);
    assert_eq!(
        verify_consistency(&p.to_string(), 1),
        "invalid: older size 14 is larger than newer size 13\n"
    );
    let mut p = proof.clone();
    p["proof"]
        .as_array_mut()
        .unwrap()
        .push(proof["proof"][0].clone());
    assert!(verify_consistency(&p.to_string(), 1).starts_with("invalid: proof has "));

    // Malformed: exit 2.
    for key in ["old", "new", "old_root", "new_root", "proof"] {
        let mut p = proof.clone();
        p.as_object_mut().unwrap().remove(key);
        verify_consistency(&p.to_string(), 2);
    }
    let mut p = proof.clone();
    p["new"] = Value::from(-13);
    verify_consistency(&p.to_string(), 2);
    let mut p = proof.clone();
    p["proof"][0] = Value::from("xyz");
    verify_consistency(&p.to_string(), 2);
    verify_consistency("[]", 2);
}

#[test]
fn consistency_usage_errors_exit_two() {
    let input = lines(&RFC6962_LEAVES);
    let out = consistency(&input, 9, 2);
    assert!(stderr(&out).contains("older size 9"), "{}", stderr(&out));
    for cmd in ["consistency", "verify-consistency"] {
        let mut args = vec!["merkle", cmd, "--scheme", "bitcoin"];
        if cmd == "consistency" {
            args.extend(["--old", "1"]);
        }
        let out = run(&args, lines(&BLOCK_100000).as_bytes(), 2);
        assert!(
            stderr(&out).contains("bitcoin trees have no consistency proofs"),
            "{}",
            stderr(&out)
        );
    }
}

/// Whether the GPU tests must run (CI sets this; there a missing adapter is a failure).
fn gpu_required() -> bool {
    std::env::var("BLOCKVERIFY_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

#[test]
fn merkle_root_on_the_gpu_equals_the_cpu_root() {
    let leaves = generated_leaves(200);
    let input = lines(&leaves.iter().map(String::as_str).collect::<Vec<_>>());
    let out = blockverify(
        &["merkle", "root", "--scheme", "rfc9162", "--backend", "gpu"],
        input.as_bytes(),
    );
    if out.status.code() == Some(2) && stderr(&out).contains("GPU backend unavailable") {
        assert!(!gpu_required(), "no GPU: {}", stderr(&out));
        eprintln!("SKIP GPU CLI test: {}", stderr(&out).trim());
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), root_of("rfc9162", &input));
    let block = lines(&BLOCK_100000);
    let out = run(
        &["merkle", "root", "--scheme", "bitcoin", "--backend", "gpu"],
        block.as_bytes(),
        0,
    );
    assert_eq!(stdout(&out).trim(), BLOCK_100000_ROOT);
    // The SM3 and ChainMaker schemes: 300 transaction hashes (an odd count at several levels).
    let hashes: String = (0..300u32)
        .map(|i| format!("{}\n", hex::encode(sm3_concat(&[[i as u8; 32]]))))
        .collect();
    for scheme in ["fisco-bcos", "chainmaker-sm3", "chainmaker-sha256"] {
        let gpu = run(
            &["merkle", "root", "--scheme", scheme, "--backend", "gpu"],
            hashes.as_bytes(),
            0,
        );
        let cpu = run(
            &["merkle", "root", "--scheme", scheme, "--backend", "cpu"],
            hashes.as_bytes(),
            0,
        );
        assert_eq!(stdout(&gpu), stdout(&cpu), "{scheme}");
    }
}

#[test]
fn bench_merkle_quick_runs_and_writes_json() {
    let dir = temp_dir("bench");
    let json = dir.join("merkle.json");
    // The GPU rows run on a small workload (a software rasteriser is slow).
    let out = run(
        &[
            "bench",
            "merkle",
            "--quick",
            "--gpu-log2-leaves",
            "10",
            "--json",
            json.to_str().expect("utf-8 path"),
        ],
        b"",
        0,
    );
    let table = stdout(&out);
    assert!(table.contains("naive sha2"), "{table}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("JSON");
    let rows = report["rows"].as_array().expect("rows");
    for engine in [
        "blockverify portable (1 thr)",
        "naive sha2 loop",
        "rayon sha2",
        "rs_merkle",
    ] {
        assert!(
            rows.iter()
                .any(|r| r["engine"].as_str().unwrap_or("").starts_with(engine)),
            "{engine}"
        );
    }
    for workload in [
        "rfc9162 root",
        "records x 512 B",
        "bitcoin root",
        "node hashing",
    ] {
        assert!(
            rows.iter()
                .any(|r| r["workload"].as_str().unwrap_or("").contains(workload)),
            "{workload}"
        );
    }
    assert!(
        rows.iter()
            .all(|r| r["nodes_per_s"].as_f64().unwrap_or(0.0) > 0.0)
    );
    if gpu_required() || !report["gpu_adapter"].is_null() {
        assert!(report["gpu_adapter"]["name"].is_string(), "{report}");
        for engine in ["blockverify gpu, end to end", "blockverify cpu engine"] {
            assert!(
                rows.iter()
                    .any(|r| r["engine"].as_str().unwrap_or("").starts_with(engine)),
                "{engine}"
            );
        }
        assert!(
            !report["gpu_crossover"]
                .as_array()
                .expect("sweep")
                .is_empty()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn temp_dir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "blockverify-cli-merkle-{what}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn sm3_concat(parts: &[[u8; 32]]) -> [u8; 32] {
    use sm3::Digest;
    let mut h = sm3::Sm3::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[test]
fn guomi_roots_in_natural_byte_order_on_every_backend_asked() {
    let leaves: Vec<[u8; 32]> = (0..3u8).map(|i| [i + 1; 32]).collect();
    let input: String = leaves
        .iter()
        .map(|l| format!("{}\n", hex::encode(l)))
        .collect();
    // FISCO BCOS: the odd last node is hashed alone.
    let fisco = sm3_concat(&[sm3_concat(&leaves[..2]), sm3_concat(&leaves[2..])]);
    // ChainMaker: paired with itself.
    let chainmaker = sm3_concat(&[
        sm3_concat(&leaves[..2]),
        sm3_concat(&[leaves[2], leaves[2]]),
    ]);
    for (scheme, root) in [("fisco-bcos", fisco), ("chainmaker-sm3", chainmaker)] {
        let out = run(
            &["merkle", "root", "--scheme", scheme, "--backend", "cpu"],
            input.as_bytes(),
            0,
        );
        assert_eq!(stdout(&out).trim(), hex::encode(root), "{scheme}");
    }
    let out = run(
        &[
            "merkle",
            "root",
            "--scheme",
            "chainmaker-sha256",
            "--backend",
            "cpu",
        ],
        input.as_bytes(),
        0,
    );
    assert_eq!(stdout(&out).trim().len(), 64);
    // No leaves: FISCO's root is zeros; ChainMaker has none (an error, exit 2).
    let out = run(&["merkle", "root", "--scheme", "fisco-bcos"], b"", 0);
    assert_eq!(stdout(&out).trim(), "0".repeat(64));
    let out = run(&["merkle", "root", "--scheme", "chainmaker-sm3"], b"", 2);
    assert!(stderr(&out).contains("no root"), "{}", stderr(&out));
    // Leaves are 32-byte hashes.
    let out = run(&["merkle", "root", "--scheme", "fisco-bcos"], b"00ff\n", 2);
    assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));
    // A duplicated last leaf is the CVE-2012-2459 shape for ChainMaker: exit 1 with a warning.
    let mutated = format!("{input}{}\n", hex::encode(leaves[2]));
    let out = run(
        &["merkle", "root", "--scheme", "chainmaker-sm3"],
        mutated.as_bytes(),
        1,
    );
    assert_eq!(stdout(&out).trim(), hex::encode(chainmaker));
    assert!(stderr(&out).contains("CVE-2012-2459"));
}

#[test]
fn fisco_prove_prints_fiscos_layout_and_verify_inclusion_checks_it() {
    let leaves: Vec<[u8; 32]> = (0..5u8).map(|i| [0x10 + i; 32]).collect();
    let input: String = leaves
        .iter()
        .map(|l| format!("{}\n", hex::encode(l)))
        .collect();
    let count = |n: u32| format!("{:08x}{}", n, "0".repeat(56));
    for index in 0..leaves.len() {
        let out = prove("fisco-bcos", &input, index);
        let proof: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert!(proof.get("path").is_none());
        let elements: Vec<&str> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        // Leaf 4 of 5 is the odd last node: a group of one, then its parent's group.
        if index == 4 {
            assert_eq!(elements[0], count(1));
            assert_eq!(elements[1], hex::encode(leaves[4]));
        } else {
            assert_eq!(elements[0], count(2));
        }
        let text = proof.to_string();
        let leaf = hex::encode(leaves[index]);
        assert_eq!(
            verify_inclusion("fisco-bcos", "--leaf", &leaf, &text, 0).trim(),
            "valid"
        );
        // Another leaf: invalid, exit 1.
        let other = hex::encode([0xee; 32]);
        assert!(verify_inclusion("fisco-bcos", "--leaf", &other, &text, 1).starts_with("invalid"));
        // A count element written as its 4 bytes alone is FISCO's `bytes` form: accepted.
        let mut short = proof.clone();
        short["proof"][0] = Value::from(&elements[0][..8]);
        assert_eq!(
            verify_inclusion("fisco-bcos", "--leaf", &leaf, &short.to_string(), 0).trim(),
            "valid"
        );
        // A broken layout (a count of 3) is malformed: exit 2.
        let mut bad = proof.clone();
        bad["proof"][0] = Value::from(count(3));
        let out = run(
            &[
                "merkle",
                "verify-inclusion",
                "--scheme",
                "fisco-bcos",
                "--leaf",
                &leaf,
            ],
            bad.to_string().as_bytes(),
            2,
        );
        assert!(stderr(&out).contains("1 or 2 nodes"), "{}", stderr(&out));
        // A wrong index claim is invalid.
        let mut moved = proof.clone();
        moved["index"] = Value::from((index + 1) % 5);
        assert!(
            verify_inclusion("fisco-bcos", "--leaf", &leaf, &moved.to_string(), 1)
                .contains("places the leaf at index")
        );
    }
}
