//! End-to-end tests of the `blockverify` binary: output format, exit codes, malformed input.

mod common;
use common::blockverify;

use std::process::Output;

use blockverify_testkit::mixed::{Owned, make_item};

/// Whether a missing GPU adapter must fail the GPU tests (`.ci/run` sets
/// `BLOCKVERIFY_REQUIRE_GPU=1`) rather than skip them.
fn require_gpu() -> bool {
    std::env::var("BLOCKVERIFY_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

fn line(o: &Owned) -> String {
    format!(
        r#"{{"pk":"{}","sig":"{}","msg":"{}"}}"#,
        hex::encode(o.pk),
        hex::encode(o.sig),
        hex::encode(&o.msg)
    )
}

fn out_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

#[test]
fn all_valid_input_exits_zero_with_one_line_per_item() {
    let input: String = (0..50).map(|i| line(&make_item(0, i)) + "\n").collect();
    let out = blockverify(&["sigs"], input.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = out_lines(&out);
    assert_eq!(lines.len(), 50);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["index"], i);
        assert_eq!(l["valid"], true);
        assert!(l.get("reason").is_none());
    }
}

#[test]
fn malformed_lines_are_reported_and_the_rest_continue() {
    let good = line(&make_item(0, 1));
    let bad_sig = line(&make_item(2, 2));
    let pk = "00".repeat(32);
    let sig = "00".repeat(64);
    let input = [
        good.clone(),
        "this is not json".into(),
        format!(r#"{{"pk":"{pk}","sig":"{sig}","msg":"zz"}}"#),
        format!(r#"{{"pk":"abcd","sig":"{sig}","msg":""}}"#),
        format!(r#"{{"pk":"{pk}","msg":""}}"#),
        String::new(),
        bad_sig,
        good,
    ]
    .join("\n");
    // Small windows: lines straddle verification batches.
    let out = blockverify(&["sigs", "--window", "3", "-"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let lines = out_lines(&out);
    assert_eq!(
        lines.len(),
        8,
        "the missing final newline still ends the last line"
    );
    let reason = |i: usize| lines[i]["reason"].as_str().unwrap_or("").to_string();
    assert_eq!(lines[0]["valid"], true);
    assert!(
        reason(1).starts_with("malformed: bad JSON"),
        "{}",
        reason(1)
    );
    assert!(
        reason(2).starts_with("malformed: msg: bad hex"),
        "{}",
        reason(2)
    );
    assert!(
        reason(3).starts_with("malformed: pk: expected 64 hex digits"),
        "{}",
        reason(3)
    );
    assert!(
        reason(4).starts_with("malformed: bad JSON"),
        "{}",
        reason(4)
    );
    assert!(
        reason(5).starts_with("malformed: empty line"),
        "{}",
        reason(5)
    );
    assert_eq!(reason(6), "verification equation failed");
    assert_eq!(lines[7]["valid"], true);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["index"], i);
    }
}

#[test]
fn policy_flag_changes_verdicts_as_documented() {
    // Small-order key and R with S = 0: valid under ZIP 215, refused under Strict.
    let input = line(&make_item(6, 3)) + "\n";
    let zip = blockverify(&["sigs", "--policy", "zip215"], input.as_bytes());
    assert_eq!(zip.status.code(), Some(0));
    let strict = blockverify(&["sigs", "--policy", "strict"], input.as_bytes());
    assert_eq!(strict.status.code(), Some(1));
    assert_eq!(
        out_lines(&strict)[0]["reason"],
        "public key has small order"
    );
}

#[test]
fn usage_and_io_errors_exit_two() {
    assert_eq!(
        blockverify(&["sigs", "--policy", "lenient"], b"")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        blockverify(&["sigs", "--window", "0"], b"").status.code(),
        Some(2)
    );
    let missing = blockverify(&["sigs", "/nonexistent/blockverify-input.jsonl"], b"");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open"));
    assert_eq!(
        blockverify(&["no-such-command"], b"").status.code(),
        Some(2)
    );
}

/// `--backend gpu` and `--backend auto` print exactly what `--backend cpu` prints, malformed
/// lines included. Without an adapter (and without `BLOCKVERIFY_REQUIRE_GPU=1`) `gpu` is a
/// usage error that says why.
#[test]
fn gpu_and_auto_backends_print_the_cpu_verdicts() {
    let mut input: String = (0..300u64)
        .map(|i| line(&make_item((i % 7) as u8, 40 + i)) + "\n")
        .collect();
    input.push_str("not json\n");
    let cpu = blockverify(&["sigs", "--backend", "cpu"], input.as_bytes());
    assert_eq!(cpu.status.code(), Some(1));
    let gpu = blockverify(&["sigs", "--backend", "gpu"], input.as_bytes());
    if gpu.status.code() == Some(2) && !require_gpu() {
        assert!(String::from_utf8_lossy(&gpu.stderr).contains("GPU backend unavailable"));
        eprintln!(
            "SKIP the GPU half: no adapter (set BLOCKVERIFY_REQUIRE_GPU=1 to make this fail)"
        );
    } else {
        assert_eq!(
            gpu.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&gpu.stderr)
        );
        assert!(
            gpu.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&gpu.stderr)
        );
        assert_eq!(gpu.stdout, cpu.stdout);
    }
    let auto = blockverify(&["sigs", "--backend", "auto"], input.as_bytes());
    assert_eq!(auto.status.code(), Some(1));
    assert_eq!(auto.stdout, cpu.stdout);
    // Both outcomes occur, so equal outputs mean something.
    let lines = out_lines(&cpu);
    assert!(lines.iter().any(|l| l["valid"] == true));
    assert!(lines.iter().filter(|l| l["valid"] == false).count() > 1);
}

#[test]
fn overlong_and_binary_lines_are_malformed_not_fatal() {
    let mut input = vec![b'{'; 4096];
    input.push(b'\n');
    input.extend_from_slice(&[0xff, 0xfe, 0x00, b'\n']);
    input.extend_from_slice(line(&make_item(0, 9)).as_bytes());
    let out = blockverify(&["sigs", "--max-line-bytes", "1024"], &input);
    assert_eq!(out.status.code(), Some(1));
    let lines = out_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["reason"], "malformed: line longer than 1024 bytes");
    assert_eq!(lines[1]["reason"], "malformed: line is not UTF-8");
    assert_eq!(lines[2]["valid"], true);
}

#[test]
fn empty_input_is_all_valid() {
    let out = blockverify(&["sigs"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn demo_runs_and_finds_exactly_the_corrupted_records() {
    let out = blockverify(
        &[
            "demo",
            "--records",
            "3000",
            "--guomi-records",
            "1000",
            "--invalid-rate",
            "0.01",
        ],
        b"",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // Two blocks, Ed25519 and guomi (SM2 + FISCO BCOS); for each the CPU and Auto rows
    // always, the GPU row where there is a GPU (always in CI).
    assert!(text.contains("Ed25519 block"), "{text}");
    assert!(text.contains("guomi block"), "{text}");
    let rows = text.matches("exactly the corrupted records").count();
    assert!(rows == 6 || (rows == 4 && !require_gpu()), "{text}");
    assert_eq!(text.matches("records that failed").count(), 2, "{text}");
    assert!(!text.contains("MISMATCH"), "{text}");
}

#[test]
fn info_and_help_work() {
    let info = blockverify(&["info"], b"");
    assert_eq!(info.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&info.stdout).contains("curve25519 backend"));
    for cmd in ["sigs", "bench", "demo", "info", "gen", "verify", "merkle"] {
        let help = blockverify(&[cmd, "--help"], b"");
        assert_eq!(help.status.code(), Some(0), "{cmd} --help");
        assert!(!help.stdout.is_empty());
    }
}

#[test]
fn bench_quick_writes_json_with_every_row() {
    let dir = std::env::temp_dir().join(format!("blockverify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = dir.join("bench.json");
    let out = blockverify(
        &[
            "bench",
            "sigs",
            "--quick",
            "--json",
            json.to_str().expect("utf-8 path"),
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("JSON");
    let rows = report["rows"].as_array().expect("rows");
    for engine in [
        "blockverify zip215",
        "blockverify strict",
        "ed25519-dalek verify_batch",
        "ed25519-zebra batch",
        "ring verify each",
        "ed25519-dalek verify_strict each",
    ] {
        assert!(
            rows.iter()
                .any(|r| r["engine"].as_str().unwrap_or("").starts_with(engine)),
            "{engine}"
        );
    }
    // The workloads of issue 21, each with this crate's row.
    for scenario in [
        "distinct keys, 1% invalid in one run",
        "64 issuers (Zipf), 1% invalid in one run",
        "1,000 issuers (Zipf), all valid",
        "1,000 issuers (Zipf), 1% invalid",
        "distinct keys beyond the cache, all valid",
        "distinct keys, all valid, calls of 512",
        "64 issuers (Zipf), all valid, calls of 512",
    ] {
        assert!(
            rows.iter().any(|r| r["scenario"] == scenario
                && r["engine"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("blockverify zip215")),
            "{scenario}"
        );
    }
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("blockverify strict / ed25519-dalek verify_strict each"),
        "{table}"
    );
    assert!(
        rows.iter()
            .all(|r| r["per_s"].as_f64().unwrap_or(0.0) > 0.0)
    );
    if require_gpu() {
        for engine in [
            "blockverify zip215 GPU",
            "blockverify strict GPU",
            "  GPU pack only",
            "  GPU device only",
            "blockverify zip215 Auto",
        ] {
            assert!(
                rows.iter()
                    .any(|r| r["engine"].as_str().unwrap_or("").starts_with(engine)),
                "{engine}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_blocks_quick_writes_json_and_a_plot() {
    let dir = std::env::temp_dir().join(format!("blockverify-bench-blocks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = dir.join("blocks.json");
    let svg = dir.join("sweep.svg");
    let out = blockverify(
        &[
            "bench",
            "blocks",
            "--quick",
            "--json",
            json.to_str().expect("utf-8 path"),
            "--plot",
            svg.to_str().expect("utf-8 path"),
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("signature engine alone"), "{table}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("JSON");
    let rows = report["blocks"]["rows"].as_array().expect("block rows");
    assert!(rows.iter().any(|r| {
        r["engine"]
            .as_str()
            .unwrap_or("")
            .starts_with("verify_block_bytes")
    }));
    let sweep = report["sweep"].as_array().expect("sweep points");
    for series in [
        "blockverify zip215 (cpu)",
        "ed25519-zebra batch",
        "blockverify cpu engine",
    ] {
        assert!(sweep.iter().any(|p| p["series"] == series), "{series}");
    }
    let chart = std::fs::read_to_string(&svg).expect("svg written");
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    assert!(chart.matches("<polyline").count() >= 5, "{chart}");
    let _ = std::fs::remove_dir_all(&dir);
}
