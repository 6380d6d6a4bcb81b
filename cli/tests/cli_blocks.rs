//! End-to-end tests of `blockverify gen` and `blockverify verify`: exit codes, JSON output,
//! corrupted records named, chains linked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn blockverify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blockverify"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn run(args: &[&str], code: i32) -> Output {
    let out = blockverify(args);
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
