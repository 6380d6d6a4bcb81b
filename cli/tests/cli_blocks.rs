//! End-to-end tests of `blockverify gen` and `blockverify verify`: exit codes, JSON output,
//! corrupted records named, chains linked — Ed25519 blocks and SM2 (guomi) blocks.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn run(args: &[&str], code: i32) -> Output {
    let out = common::blockverify(args, b"");
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "blockverify-cli-blocks-{what}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The records `gen` said it corrupted (`index:kind` pairs on stderr).
fn corrupted_by_gen(out: &Output) -> Vec<(u64, String)> {
    let text = String::from_utf8_lossy(&out.stderr);
    let list = text
        .split("corrupted records: ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim();
    if list == "none" {
        return Vec::new();
    }
    list.split(' ')
        .map(|p| {
            let (i, kind) = p.split_once(':').unwrap();
            (i.parse().unwrap(), kind.to_string())
        })
        .collect()
}

#[test]
fn a_valid_block_verifies_with_exit_zero() {
    let dir = temp_dir("valid");
    let file = dir.join("b.bvb");
    run(
        &[
            "gen",
            "--records",
            "2000",
            "--issuers",
            "10",
            "-o",
            s(&file),
        ],
        0,
    );
    let out = run(&["verify", "--backend", "cpu", s(&file)], 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("VALID") && text.contains("root matches"),
        "{text}"
    );
    let out = run(&["verify", "--json", s(&file)], 0);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["records"], 2000);
    assert_eq!(lines[0]["valid"], 2000);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupted_records_are_named_with_exit_one() {
    let dir = temp_dir("corrupt");
    let file = dir.join("b.bvb");
    let generated = run(
        &[
            "gen",
            "--records",
            "3000",
            "--invalid-rate",
            "0.01",
            "--seed",
            "9",
            "-o",
            s(&file),
        ],
        0,
    );
    let corrupted = corrupted_by_gen(&generated);
    assert!(corrupted.len() > 10);
    let out = run(&["verify", "--json", "--backend", "cpu", s(&file)], 1);
    let line = &json_lines(&out)[0];
    assert_eq!(line["ok"], false);
    let bad: Vec<u64> = line["bad_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["index"].as_u64().unwrap())
        .collect();
    assert_eq!(bad, corrupted.iter().map(|c| c.0).collect::<Vec<_>>());
    for (b, (_, kind)) in line["bad_records"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&corrupted)
    {
        let verdict = b["verdict"].as_str().unwrap();
        match kind.as_str() {
            "duplicated-record" => assert!(verdict.starts_with("duplicate of record"), "{verdict}"),
            _ => assert!(verdict.contains("equation failed"), "{verdict}"),
        }
    }
    // Tampered payloads were changed after the root was computed.
    let tampered = corrupted.iter().any(|c| c.1 == "tampered-payload");
    assert_eq!(line["root_matches"], !tampered);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_blocks_and_io_errors_exit_two() {
    let dir = temp_dir("malformed");
    let file = dir.join("b.bvb");
    run(
        &[
            "gen",
            "--records",
            "100",
            "--corruptions",
            "truncated-record",
            "-o",
            s(&file),
        ],
        0,
    );
    let out = run(&["verify", s(&file)], 2);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("MALFORMED") && text.contains("record 99"),
        "{text}"
    );
    run(&["verify", s(&dir.join("missing.bvb"))], 2);
    // Limits: file size, record count, payload size.
    let big = dir.join("big.bvb");
    run(&["gen", "--records", "50", "-o", s(&big)], 0);
    let out = run(&["verify", "--max-block-bytes", "1000", s(&big)], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-block-bytes"));
    let out = run(&["verify", "--max-records", "10", s(&big)], 2);
    assert!(String::from_utf8_lossy(&out.stdout).contains("the limit is 10"));
    let out = run(&["verify", "--max-payload", "20", s(&big)], 2);
    assert!(String::from_utf8_lossy(&out.stdout).contains("the limit is 20"));
    std::fs::write(dir.join("junk"), b"not a block").unwrap();
    run(&["verify", s(&dir.join("junk"))], 2);
    run(&["verify"], 2);
    run(&["gen", "--corruptions", "melted", "-o", s(&file)], 2);
    run(&["gen", "--invalid-rate", "2", "-o", s(&file)], 2);
    run(&["gen", "--records", "10"], 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chains_verify_in_order_and_broken_links_exit_one() {
    let dir = temp_dir("chain");
    let stem = dir.join("c");
    run(
        &["gen", "--records", "200", "--blocks", "3", "-o", s(&stem)],
        0,
    );
    let files: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("c.{i}"))).collect();
    let mut args = vec!["verify", "--json"];
    args.extend(files.iter().map(|f| s(f)));
    let out = run(&args, 0);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["height"], i as u64);
        assert_eq!(l["link_ok"], true);
    }
    // Out of order: block 2 does not follow block 0.
    let args = ["verify", "--json", s(&files[0]), s(&files[2]), s(&files[1])];
    let out = run(&args, 1);
    let lines = json_lines(&out);
    assert_eq!(lines[1]["link_ok"], false);
    assert_eq!(lines[1]["ok"], false);
    let _ = std::fs::remove_dir_all(&dir);
}

const SCHEMES: [&str; 5] = [
    "rfc9162",
    "bitcoin",
    "fisco-bcos",
    "chainmaker-sm3",
    "chainmaker-sha256",
];

#[test]
fn sm2_blocks_of_every_scheme_verify_with_exit_zero() {
    let dir = temp_dir("sm2-valid");
    for scheme in SCHEMES {
        let file = dir.join(format!("{scheme}.bvb"));
        let out = run(
            &[
                "gen",
                "--alg",
                "sm2",
                "--scheme",
                scheme,
                "--records",
                "300",
                "--issuers",
                "5",
                "-o",
                s(&file),
            ],
            0,
        );
        assert!(
            common::stderr(&out).contains(&format!("(sm2, {scheme})")),
            "{}",
            common::stderr(&out)
        );
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(bytes[4..6], [2, 0], "format version 2");
        let out = run(&["verify", "--json", s(&file)], 0);
        let line = &json_lines(&out)[0];
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["algorithm"], "sm2");
        assert_eq!(line["scheme"], scheme);
        assert_eq!(line["valid"], 300);
        assert_eq!(line["signature_backend"], "cpu");
        let out = run(&["verify", "--backend", "cpu", s(&file)], 0);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("VALID height 0 (sm2, {scheme})")),
            "{text}"
        );
    }
    // Ed25519 stays the default, and version 1.
    let file = dir.join("ed.bvb");
    run(&["gen", "--records", "10", "-o", s(&file)], 0);
    assert_eq!(std::fs::read(&file).unwrap()[4..6], [1, 0]);
    let out = run(&["verify", "--json", s(&file)], 0);
    assert_eq!(json_lines(&out)[0]["algorithm"], "ed25519");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupted_sm2_records_are_named_with_exit_one() {
    let dir = temp_dir("sm2-corrupt");
    let file = dir.join("b.bvb");
    let generated = run(
        &[
            "gen",
            "--alg",
            "sm2",
            "--scheme",
            "fisco-bcos",
            "--records",
            "1500",
            "--invalid-rate",
            "0.02",
            "--corruptions",
            "bad-signature,tampered-payload,duplicated-record,wrong-key",
            "--seed",
            "4",
            "-o",
            s(&file),
        ],
        0,
    );
    let corrupted = corrupted_by_gen(&generated);
    assert!(corrupted.len() > 10);
    for kind in ["bad-signature", "wrong-key", "duplicated-record"] {
        assert!(
            corrupted.iter().any(|c| c.1 == kind),
            "{kind}: {corrupted:?}"
        );
    }
    let out = run(&["verify", "--json", "--backend", "cpu", s(&file)], 1);
    let line = &json_lines(&out)[0];
    assert_eq!(line["ok"], false);
    let bad = line["bad_records"].as_array().unwrap();
    assert_eq!(
        bad.iter()
            .map(|b| b["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        corrupted.iter().map(|c| c.0).collect::<Vec<_>>()
    );
    for (b, (_, kind)) in bad.iter().zip(&corrupted) {
        let verdict = b["verdict"].as_str().unwrap();
        match kind.as_str() {
            "duplicated-record" => assert!(verdict.starts_with("duplicate of record"), "{verdict}"),
            _ => assert!(verdict.contains("equation failed"), "{verdict}"),
        }
    }
    let tampered = corrupted.iter().any(|c| c.1 == "tampered-payload");
    assert_eq!(line["root_matches"], !tampered);

    // A wrong root alone: exit 1, no bad record.
    run(
        &[
            "gen",
            "--alg",
            "sm2",
            "--records",
            "50",
            "--corruptions",
            "wrong-root",
            "-o",
            s(&file),
        ],
        0,
    );
    let out = run(&["verify", "--json", s(&file)], 1);
    let line = &json_lines(&out)[0];
    assert_eq!(line["root_matches"], false);
    assert_eq!(line["bad_records"].as_array().unwrap().len(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_sm2_blocks_and_usage_errors_exit_two() {
    let dir = temp_dir("sm2-malformed");
    let file = dir.join("b.bvb");
    run(
        &[
            "gen",
            "--alg",
            "sm2",
            "--records",
            "40",
            "--corruptions",
            "truncated-record",
            "-o",
            s(&file),
        ],
        0,
    );
    let out = run(&["verify", s(&file)], 2);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("MALFORMED") && text.contains("record 39"),
        "{text}"
    );
    // A garbled version-2 header: the algorithm byte.
    run(
        &["gen", "--alg", "sm2", "--records", "3", "-o", s(&file)],
        0,
    );
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[8] = 9;
    std::fs::write(&file, &bytes).unwrap();
    let out = run(&["verify", s(&file)], 2);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("unknown signature algorithm code 9"),
        "{text}"
    );
    // The policy is Ed25519's.
    let out = run(
        &["gen", "--alg", "sm2", "--policy", "strict", "-o", s(&file)],
        2,
    );
    assert!(
        common::stderr(&out).contains("--policy"),
        "{}",
        common::stderr(&out)
    );
    run(&["gen", "--alg", "rsa", "-o", s(&file)], 2);
    run(&["gen", "--scheme", "sha1", "-o", s(&file)], 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sm2_chains_link_and_follow_ed25519_blocks() {
    let dir = temp_dir("sm2-chain");
    let stem = dir.join("c");
    run(
        &[
            "gen",
            "--alg",
            "sm2",
            "--scheme",
            "fisco-bcos",
            "--records",
            "100",
            "--blocks",
            "3",
            "-o",
            s(&stem),
        ],
        0,
    );
    let files: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("c.{i}"))).collect();
    let mut args = vec!["verify", "--json"];
    args.extend(files.iter().map(|f| s(f)));
    let out = run(&args, 0);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["height"], i as u64);
        assert_eq!(l["link_ok"], true);
        assert_eq!(l["algorithm"], "sm2");
    }
    // An Ed25519 block of height 0 does not link to the SM2 block 1 (another block 0).
    let ed = dir.join("ed");
    run(&["gen", "--records", "10", "-o", s(&ed)], 0);
    let out = run(&["verify", "--json", s(&ed), s(&files[1])], 1);
    assert_eq!(json_lines(&out)[1]["link_ok"], false);
    let _ = std::fs::remove_dir_all(&dir);
}
