//! End-to-end tests of `blockverify sigs --alg sm2`: the line format (raw and DER signatures,
//! user IDs, the three key encodings), verdicts and their reasons, malformed lines, exit
//! codes, and `--alg ed25519` staying the default.

mod common;
use common::{blockverify, stderr};

use std::process::Output;

use blockverify::sig::sm2::encode_der_signature;
use blockverify_testkit::mixed::make_item;
use sm2::dsa::signature::Signer as _;

const DEFAULT_ID: &str = "1234567812345678";

fn out_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

/// An SM2 signer: its key in the three encodings, signing under one user ID.
struct Signer {
    /// `04 ‖ x ‖ y`.
    uncompressed: Vec<u8>,
    signing: sm2::dsa::SigningKey,
}

impl Signer {
    fn new(seed: u8, id: &str) -> Self {
        let sk = sm2::SecretKey::from_slice(&[seed; 32]).expect("a valid secret key");
        let signing = sm2::dsa::SigningKey::new(id, &sk).expect("a signing key");
        let uncompressed = signing.verifying_key().to_sec1_bytes().to_vec();
        assert_eq!((uncompressed.len(), uncompressed[0]), (65, 4));
        Signer {
            uncompressed,
            signing,
        }
    }

    /// `x ‖ y`.
    fn raw_key(&self) -> Vec<u8> {
        self.uncompressed[1..].to_vec()
    }

    /// `02/03 ‖ x`: 02 for an even y, 03 for an odd one.
    fn compressed_key(&self) -> Vec<u8> {
        let y_odd = self.uncompressed[64] & 1;
        let mut key = vec![0x02 | y_odd];
        key.extend_from_slice(&self.uncompressed[1..33]);
        key
    }

    /// `r ‖ s`.
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let sig: sm2::dsa::Signature = self.signing.sign(msg);
        sig.to_bytes().into()
    }
}

/// The signature field of a line.
enum Sig<'a> {
    Raw(&'a [u8]),
    Der(&'a [u8]),
}

/// One SM2 input line; `id: None` leaves the field out (the default ID).
fn line(pk: &[u8], sig: Sig<'_>, msg: &[u8], id: Option<&[u8]>) -> String {
    let mut fields = vec![format!(r#""pk":"{}""#, hex::encode(pk))];
    fields.push(match sig {
        Sig::Raw(s) => format!(r#""sig":"{}""#, hex::encode(s)),
        Sig::Der(d) => format!(r#""sig_der":"{}""#, hex::encode(d)),
    });
    fields.push(format!(r#""msg":"{}""#, hex::encode(msg)));
    if let Some(id) = id {
        fields.push(format!(r#""id":"{}""#, hex::encode(id)));
    }
    format!("{{{}}}", fields.join(","))
}

fn reasons(o: &Output) -> Vec<String> {
    out_lines(o)
        .iter()
        .enumerate()
        .map(|(i, l)| {
            assert_eq!(l["index"], i);
            assert_eq!(l["valid"], l.get("reason").is_none(), "{l}");
            l["reason"].as_str().unwrap_or("valid").to_string()
        })
        .collect()
}

#[test]
fn valid_lines_in_every_form_exit_zero() {
    let default = Signer::new(1, DEFAULT_ID);
    let empty = Signer::new(2, "");
    let custom_id = "alice@example.com";
    let custom = Signer::new(3, custom_id);
    let mut input = Vec::new();
    for msg in [&b""[..], b"abc", b"a longer message, signed by each key"] {
        let sig = default.sign(msg);
        let der = encode_der_signature(&sig);
        // The three key encodings, raw and DER, with the ID absent or spelled out.
        input.push(line(&default.uncompressed, Sig::Raw(&sig), msg, None));
        input.push(line(&default.raw_key(), Sig::Raw(&sig), msg, None));
        input.push(line(&default.compressed_key(), Sig::Raw(&sig), msg, None));
        input.push(line(&default.uncompressed, Sig::Der(&der), msg, None));
        input.push(line(&default.compressed_key(), Sig::Der(&der), msg, None));
        input.push(line(
            &default.raw_key(),
            Sig::Raw(&sig),
            msg,
            Some(DEFAULT_ID.as_bytes()),
        ));
        // The empty ID, and a custom one.
        let sig = empty.sign(msg);
        input.push(line(&empty.uncompressed, Sig::Raw(&sig), msg, Some(b"")));
        input.push(line(
            &empty.compressed_key(),
            Sig::Der(&encode_der_signature(&sig)),
            msg,
            Some(b""),
        ));
        let sig = custom.sign(msg);
        input.push(line(
            &custom.raw_key(),
            Sig::Raw(&sig),
            msg,
            Some(custom_id.as_bytes()),
        ));
    }
    let input = input.join("\n") + "\n";
    for window in ["1", "4", "16384"] {
        let out = blockverify(
            &["sigs", "--alg", "sm2", "--window", window],
            input.as_bytes(),
        );
        assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
        let reasons = reasons(&out);
        assert_eq!(reasons.len(), 27);
        assert!(reasons.iter().all(|r| r == "valid"), "{reasons:?}");
    }
    // A file argument reads the same.
    let path = std::env::temp_dir().join(format!("blockverify-sm2-{}.jsonl", std::process::id()));
    std::fs::write(&path, &input).expect("temp file");
    let out = blockverify(
        &[
            "sigs",
            "--alg",
            "sm2",
            "--backend",
            "cpu",
            path.to_str().expect("utf-8 path"),
        ],
        b"",
    );
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(out_lines(&out).len(), 27);
}

#[test]
fn compressed_keys_of_both_parities_verify_and_the_wrong_parity_does_not() {
    let mut seen = [false; 2];
    let mut input = Vec::new();
    for seed in 1..=16u8 {
        let s = Signer::new(seed, DEFAULT_ID);
        let key = s.compressed_key();
        seen[usize::from(key[0] & 1)] = true;
        let sig = s.sign(b"parity");
        input.push(line(&key, Sig::Raw(&sig), b"parity", None));
        let mut flipped = key.clone();
        flipped[0] ^= 1; // the other point with this x: -P
        input.push(line(&flipped, Sig::Raw(&sig), b"parity", None));
    }
    assert_eq!(seen, [true, true], "both prefixes 02 and 03 were tried");
    let out = blockverify(
        &["sigs", "--alg", "sm2"],
        (input.join("\n") + "\n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    for (i, r) in reasons(&out).iter().enumerate() {
        let expected = if i % 2 == 0 {
            "valid"
        } else {
            "verification equation failed"
        };
        assert_eq!(r, expected, "line {i}");
    }
}

#[test]
fn invalid_signatures_are_verdicts_with_reasons() {
    let s = Signer::new(7, DEFAULT_ID);
    let custom = Signer::new(8, "bob");
    let msg = b"transfer 10 to carol";
    let sig = s.sign(msg);
    let der = encode_der_signature(&sig);
    let mut r_zero = sig;
    r_zero[..32].fill(0);
    let mut s_zero = sig;
    s_zero[32..].fill(0);
    let mut off_curve = s.raw_key();
    off_curve[63] ^= 1;
    let mut der_trailing = der.clone();
    der_trailing.push(0);
    let long_id = vec![b'x'; 8192];
    let cases: Vec<(String, &str)> = vec![
        (line(&s.uncompressed, Sig::Raw(&sig), msg, None), "valid"),
        (
            line(
                &s.uncompressed,
                Sig::Raw(&sig),
                b"transfer 99 to carol",
                None,
            ),
            "verification equation failed",
        ),
        (
            line(&s.uncompressed, Sig::Der(&der), b"other", None),
            "verification equation failed",
        ),
        // Signed under the default ID, checked under the empty one.
        (
            line(&s.uncompressed, Sig::Raw(&sig), msg, Some(b"")),
            "verification equation failed",
        ),
        // Signed under "bob", checked under the default ID, then under "bob".
        (
            line(&custom.uncompressed, Sig::Raw(&custom.sign(msg)), msg, None),
            "verification equation failed",
        ),
        (
            line(
                &custom.uncompressed,
                Sig::Raw(&custom.sign(msg)),
                msg,
                Some(b"bob"),
            ),
            "valid",
        ),
        (
            line(&s.uncompressed, Sig::Raw(&r_zero), msg, None),
            "r is not in [1, n-1]",
        ),
        (
            line(&s.uncompressed, Sig::Raw(&s_zero), msg, None),
            "s is not in [1, n-1]",
        ),
        // Key lengths other than 33, 64 and 65 bytes are the library's verdict, not malformed.
        (
            line(&s.uncompressed[..40], Sig::Raw(&sig), msg, None),
            "public key is not a valid point encoding",
        ),
        (
            line(b"", Sig::Raw(&sig), msg, None),
            "public key is not a valid point encoding",
        ),
        (
            line(&off_curve, Sig::Raw(&sig), msg, None),
            "public key is not a curve point",
        ),
        (
            line(&s.uncompressed, Sig::Der(&der_trailing), msg, None),
            "signature is not r||s or strict DER",
        ),
        (
            line(&s.uncompressed, Sig::Der(&sig), msg, None),
            "signature is not r||s or strict DER",
        ),
        (
            line(&s.uncompressed, Sig::Raw(&sig), msg, Some(&long_id)),
            "user ID is longer than 8191 bytes",
        ),
        (
            line(&s.compressed_key(), Sig::Der(&der), msg, None),
            "valid",
        ),
    ];
    let input: String = cases.iter().map(|(l, _)| format!("{l}\n")).collect();
    let out = blockverify(&["sigs", "--alg", "sm2", "--window", "5"], input.as_bytes());
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let got = reasons(&out);
    let expected: Vec<&str> = cases.iter().map(|(_, r)| *r).collect();
    assert_eq!(got, expected);
}

#[test]
fn malformed_lines_are_named_and_the_rest_continue() {
    let s = Signer::new(9, DEFAULT_ID);
    let sig = s.sign(b"m");
    let good = line(&s.uncompressed, Sig::Raw(&sig), b"m", None);
    let pk = hex::encode(&s.uncompressed);
    let sig_hex = hex::encode(sig);
    let der_hex = hex::encode(encode_der_signature(&sig));
    let cases: Vec<(String, &str)> = vec![
        (good.clone(), "valid"),
        ("not json".into(), "malformed: bad JSON"),
        (
            format!(r#"{{"pk":"{pk}","sig":"{sig_hex}","msg":"6d","extra":1}}"#),
            "malformed: bad JSON: unknown field `extra`",
        ),
        (
            format!(r#"{{"sig":"{sig_hex}","msg":"6d"}}"#),
            "malformed: bad JSON: missing field `pk`",
        ),
        (
            format!(r#"{{"pk":"{pk}","sig":"{sig_hex}"}}"#),
            "malformed: bad JSON: missing field `msg`",
        ),
        (
            format!(r#"{{"pk":"{pk}","msg":"6d"}}"#),
            "malformed: missing field `sig` or `sig_der`",
        ),
        (
            format!(r#"{{"pk":"{pk}","sig":"{sig_hex}","sig_der":"{der_hex}","msg":"6d"}}"#),
            "malformed: both `sig` and `sig_der`",
        ),
        (
            format!(r#"{{"pk":"{pk}","sig":"{der_hex}","msg":"6d"}}"#),
            "malformed: sig: expected 128 hex digits",
        ),
        (
            format!(r#"{{"pk":"{pk}z","sig":"{sig_hex}","msg":"6d"}}"#),
            "malformed: pk: bad hex",
        ),
        (
            format!(r#"{{"pk":"{pk}","sig_der":"3g","msg":"6d"}}"#),
            "malformed: sig_der: bad hex",
        ),
        (
            format!(r#"{{"pk":"{pk}","sig":"{sig_hex}","msg":"6"}}"#),
            "malformed: msg: bad hex",
        ),
        (
            format!(r#"{{"pk":"{pk}","sig":"{sig_hex}","msg":"6d","id":"xy"}}"#),
            "malformed: id: bad hex",
        ),
        (
            format!(r#"{{"pk":"{pk}","sig":"{sig_hex}","msg":"6d","id":null}}"#),
            "malformed: bad JSON: invalid type: null",
        ),
        (String::new(), "malformed: empty line"),
        (good, "valid"),
    ];
    // No final newline: the last line still counts.
    let input = cases
        .iter()
        .map(|(l, _)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let out = blockverify(
        &["sigs", "--alg", "sm2", "--window", "4", "-"],
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let got = reasons(&out);
    assert_eq!(got.len(), cases.len());
    for (i, (r, (_, want))) in got.iter().zip(&cases).enumerate() {
        assert!(
            r.starts_with(want),
            "line {i}: {r:?} does not start with {want:?}"
        );
    }
}

#[test]
fn overlong_lines_and_empty_input() {
    let mut input = vec![b'{'; 4096];
    input.extend_from_slice(b"\n");
    let out = blockverify(
        &["sigs", "--alg", "sm2", "--max-line-bytes", "1024"],
        &input,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(reasons(&out), ["malformed: line longer than 1024 bytes"]);
    let out = blockverify(&["sigs", "--alg", "sm2"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn policy_with_sm2_and_unknown_algorithms_are_usage_errors() {
    let s = Signer::new(4, DEFAULT_ID);
    let input = line(&s.uncompressed, Sig::Raw(&s.sign(b"x")), b"x", None) + "\n";
    for policy in ["zip215", "strict"] {
        let out = blockverify(
            &["sigs", "--alg", "sm2", "--policy", policy],
            input.as_bytes(),
        );
        assert_eq!(out.status.code(), Some(2), "{policy}");
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).contains("--policy"), "{}", stderr(&out));
    }
    let out = blockverify(&["sigs", "--alg", "rsa"], input.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    // The same line without --policy is verified.
    let out = blockverify(&["sigs", "--alg", "sm2"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
}

#[test]
fn ed25519_stays_the_default_and_the_formats_do_not_mix() {
    let o = make_item(0, 5);
    let ed_line = format!(
        r#"{{"pk":"{}","sig":"{}","msg":"{}"}}"#,
        hex::encode(o.pk),
        hex::encode(o.sig),
        hex::encode(&o.msg)
    ) + "\n";
    let default = blockverify(&["sigs"], ed_line.as_bytes());
    assert_eq!(
        default.status.code(),
        Some(0),
        "stderr: {}",
        stderr(&default)
    );
    assert_eq!(reasons(&default), ["valid"]);
    let explicit = blockverify(&["sigs", "--alg", "ed25519"], ed_line.as_bytes());
    assert_eq!(explicit.stdout, default.stdout);
    let strict = blockverify(
        &["sigs", "--alg", "ed25519", "--policy", "strict"],
        ed_line.as_bytes(),
    );
    assert_eq!(strict.status.code(), Some(0));
    // An Ed25519 line read as SM2: well-formed, but a 32-byte key is no SM2 key encoding.
    let as_sm2 = blockverify(&["sigs", "--alg", "sm2"], ed_line.as_bytes());
    assert_eq!(as_sm2.status.code(), Some(1));
    assert_eq!(
        reasons(&as_sm2),
        ["public key is not a valid point encoding"]
    );
    // An SM2 line read as Ed25519: its 65-byte key is malformed there.
    let s = Signer::new(5, DEFAULT_ID);
    let sm2_line = line(&s.uncompressed, Sig::Raw(&s.sign(b"x")), b"x", None) + "\n";
    let as_ed = blockverify(&["sigs"], sm2_line.as_bytes());
    assert_eq!(as_ed.status.code(), Some(1));
    assert_eq!(
        reasons(&as_ed),
        ["malformed: pk: expected 64 hex digits, got 130"]
    );
}

/// `--backend gpu` and `--backend auto` print exactly what `--backend cpu` prints. Without
/// an adapter (and without `BLOCKVERIFY_REQUIRE_GPU=1`, as CI sets it) `gpu` is a usage
/// error that says why.
#[test]
fn gpu_and_auto_backends_print_the_cpu_verdicts() {
    let s = Signer::new(6, DEFAULT_ID);
    let input: String = (0..40u8)
        .map(|i| {
            let msg = [i];
            let mut sig = s.sign(&msg);
            if i % 3 == 0 {
                sig[63] ^= 1;
            }
            line(&s.uncompressed, Sig::Raw(&sig), &msg, None) + "\n"
        })
        .collect();
    let cpu = blockverify(
        &["sigs", "--alg", "sm2", "--backend", "cpu"],
        input.as_bytes(),
    );
    assert_eq!(cpu.status.code(), Some(1), "stderr: {}", stderr(&cpu));
    let auto = blockverify(
        &["sigs", "--alg", "sm2", "--backend", "auto"],
        input.as_bytes(),
    );
    assert_eq!(auto.status.code(), Some(1), "stderr: {}", stderr(&auto));
    assert_eq!(auto.stdout, cpu.stdout);
    let got = reasons(&cpu);
    assert_eq!(got.iter().filter(|r| *r == "valid").count(), 26);
    let gpu = blockverify(
        &["sigs", "--alg", "sm2", "--backend", "gpu"],
        input.as_bytes(),
    );
    let require_gpu = std::env::var("BLOCKVERIFY_REQUIRE_GPU").is_ok_and(|v| v == "1");
    if gpu.status.code() == Some(2) && !require_gpu {
        assert!(stderr(&gpu).contains("GPU backend unavailable"));
        eprintln!(
            "SKIP the GPU half: no adapter (set BLOCKVERIFY_REQUIRE_GPU=1 to make this fail)"
        );
    } else {
        assert_eq!(gpu.status.code(), Some(1), "stderr: {}", stderr(&gpu));
        assert_eq!(gpu.stdout, cpu.stdout);
    }
}

#[test]
fn help_describes_the_sm2_format() {
    let help = blockverify(&["sigs", "--help"], b"");
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in ["--alg", "sm2", "sig_der", "\"id\"", "--policy"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}
