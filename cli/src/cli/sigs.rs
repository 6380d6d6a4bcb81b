//! `blockverify sigs`: JSON Lines in, one verdict line out per input line.
//!
//! Lines are read in windows of `window` lines (the only memory that grows with input), each
//! window verified as one batch, and the verdicts written in input order before the next
//! window is read. A line longer than `max_line_bytes` is skipped to its end without being
//! held in memory, and reported malformed.
//!
//! The streaming (reading, windows, output, exit status) is shared; each algorithm ([`Alg`])
//! is a [`LineFormat`]: how one line decodes into owned bytes, and how a window of decoded
//! lines is verified with items borrowed from those bytes (module `ed25519`, module `sm2`).
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use blockverify::{Backend, Policy, SigReport, Verdict, Verifier};
use serde::Serialize;

use super::CliError;

/// The signature algorithm of the input lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// `{"pk","sig","msg"}` lines, verified under this policy.
    Ed25519(Policy),
    /// `{"pk","sig"|"sig_der","msg"[,"id"]}` lines (GB/T 32918.2).
    Sm2,
}

pub struct Options {
    pub alg: Alg,
    pub backend: Backend,
    pub threads: usize,
    pub window: usize,
    pub max_line_bytes: usize,
    pub input: PathBuf,
}

/// One output line: `{"index":N,"valid":true}` or `{"index":N,"valid":false,"reason":"..."}`
/// (fields in this order).
#[derive(Serialize)]
struct VerdictLine<'a> {
    index: u64,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Cow<'a, str>>,
}

/// One algorithm's input lines.
trait LineFormat {
    /// A line decoded to owned bytes; the window's items borrow from these.
    type Decoded;
    /// Decodes one non-empty UTF-8 line; `Err` names what is malformed.
    fn decode(&self, text: &str) -> Result<Self::Decoded, String>;
    /// Verifies a window's decoded lines: one verdict per line, in order.
    fn verify(&self, verifier: &Verifier, lines: &[&Self::Decoded]) -> SigReport;
}

pub fn run(opts: &Options) -> Result<ExitCode, CliError> {
    // The policy travels with each Ed25519 call (`Alg::Ed25519`), not in the verifier.
    let verifier = Verifier::builder()
        .backend(opts.backend)
        .threads(opts.threads)
        .build()?;
    let input: Box<dyn BufRead> = if opts.input.as_os_str() == "-" {
        Box::new(BufReader::new(io::stdin().lock()))
    } else {
        let f = File::open(&opts.input)
            .map_err(|e| format!("cannot open {}: {e}", opts.input.display()))?;
        Box::new(BufReader::new(f))
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let all_valid = verify_stream(
        &verifier,
        opts.alg,
        input,
        &mut out,
        opts.window,
        opts.max_line_bytes,
    )?;
    out.flush()?;
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Verifies every line of `input` as signatures of `alg`, writing verdict lines to `out`.
/// Returns whether all were valid. Errors are I/O errors only; bad lines are verdicts.
pub fn verify_stream(
    verifier: &Verifier,
    alg: Alg,
    input: impl BufRead,
    out: &mut impl Write,
    window: usize,
    max_line_bytes: usize,
) -> io::Result<bool> {
    match alg {
        Alg::Ed25519(policy) => stream(
            &ed25519::Format(policy),
            verifier,
            input,
            out,
            window,
            max_line_bytes,
        ),
        Alg::Sm2 => stream(&sm2::Format, verifier, input, out, window, max_line_bytes),
    }
}

fn stream<F: LineFormat>(
    format: &F,
    verifier: &Verifier,
    mut input: impl BufRead,
    out: &mut impl Write,
    window: usize,
    max_line_bytes: usize,
) -> io::Result<bool> {
    let mut all_valid = true;
    let mut index: u64 = 0;
    let mut lines: Vec<Result<F::Decoded, String>> = Vec::with_capacity(window.min(1 << 16));
    let mut buf = Vec::new();
    loop {
        lines.clear();
        while lines.len() < window {
            match read_line(&mut input, &mut buf, max_line_bytes)? {
                LineRead::Eof => break,
                LineRead::TooLong => {
                    lines.push(Err(format!("line longer than {max_line_bytes} bytes")))
                }
                LineRead::Line => lines.push(decode_line(format, &buf)),
            }
        }
        if lines.is_empty() {
            return Ok(all_valid);
        }
        let ok: Vec<&F::Decoded> = lines.iter().filter_map(|l| l.as_ref().ok()).collect();
        let report = format.verify(verifier, &ok);
        if let Some(fault) = report.gpu_fault() {
            // Same verdicts either way; an operator who chose the GPU is told it was not used.
            eprintln!(
                "blockverify: GPU fault ({fault}); lines {index}.. verified on the CPU engine"
            );
        }
        let mut verdicts = report.verdicts().iter();
        for line in &lines {
            let verdict = match line {
                Ok(_) => Ok(*verdicts.next().expect("one verdict per decoded line")),
                Err(what) => Err(what.as_str()),
            };
            all_valid &= matches!(verdict, Ok(Verdict::Valid));
            write_verdict(out, index, verdict)?;
            index += 1;
        }
    }
}

fn write_verdict(
    out: &mut impl Write,
    index: u64,
    verdict: Result<Verdict, &str>,
) -> io::Result<()> {
    let reason = match verdict {
        Ok(Verdict::Valid) => None,
        Ok(Verdict::Invalid(r)) => Some(Cow::Borrowed(r.as_str())),
        Err(what) => Some(Cow::Owned(format!("malformed: {what}"))),
    };
    let line = VerdictLine {
        index,
        valid: reason.is_none(),
        reason,
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

enum LineRead {
    Eof,
    Line,
    TooLong,
}

/// Reads one line (without its `\n`, and without a `\r` before it) into `buf`, refusing to
/// hold more than `max` bytes of it.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<LineRead> {
    buf.clear();
    let mut too_long = false;
    let mut saw_any = false;
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        saw_any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        input.consume(take + usize::from(done));
        if done {
            break;
        }
    }
    if !saw_any {
        return Ok(LineRead::Eof);
    }
    if too_long {
        return Ok(LineRead::TooLong);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(LineRead::Line)
}

/// The checks every format shares (UTF-8, not blank), then the format's own.
fn decode_line<F: LineFormat>(format: &F, bytes: &[u8]) -> Result<F::Decoded, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "line is not UTF-8".to_string())?;
    if text.trim().is_empty() {
        return Err("empty line".into());
    }
    format.decode(text)
}

fn parse_json<'de, T: serde::Deserialize<'de>>(text: &'de str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}"))
}

/// Hex of any length.
fn decode_hex(field: &str, text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("{field}: bad hex: {e}"))
}

/// Hex of exactly `N` bytes.
fn decode_fixed<const N: usize>(field: &str, text: &str) -> Result<[u8; N], String> {
    if text.len() != 2 * N {
        return Err(format!(
            "{field}: expected {} hex digits, got {}",
            2 * N,
            text.len()
        ));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|e| format!("{field}: bad hex: {e}"))?;
    Ok(out)
}

/// `{"pk":"<32 bytes>","sig":"<64 bytes>","msg":"<hex>"}`; every length is checked here.
mod ed25519 {
    use blockverify::{Policy, SigItem, SigReport, Verifier};
    use serde::Deserialize;

    use super::{LineFormat, decode_fixed, decode_hex, parse_json};

    pub(super) struct Format(pub(super) Policy);

    /// One input line's fields, as text.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        pk: String,
        sig: String,
        msg: String,
    }

    pub(super) struct Decoded {
        pk: [u8; 32],
        sig: [u8; 64],
        msg: Vec<u8>,
    }

    impl LineFormat for Format {
        type Decoded = Decoded;

        fn decode(&self, text: &str) -> Result<Decoded, String> {
            let line: Line = parse_json(text)?;
            Ok(Decoded {
                pk: decode_fixed("pk", &line.pk)?,
                sig: decode_fixed("sig", &line.sig)?,
                msg: decode_hex("msg", &line.msg)?,
            })
        }

        fn verify(&self, verifier: &Verifier, lines: &[&Decoded]) -> SigReport {
            let items: Vec<SigItem<'_>> = lines
                .iter()
                .map(|d| SigItem::new(&d.pk, &d.sig, &d.msg))
                .collect();
            verifier.verify_ed25519(self.0, &items)
        }
    }
}

/// `{"pk":"<hex>","sig":"<64 bytes r‖s>","msg":"<hex>"}`, or `"sig_der":"<hex DER>"` in place
/// of `"sig"`, with an optional `"id":"<hex>"` (absent: the default ID; `""`: the empty ID).
///
/// Malformed here: what is not the line format (JSON, fields, hex, neither or both of `sig`
/// and `sig_der`, a `sig` that is not 64 bytes). What the key, signature and ID encode is
/// the library's to judge, as verdicts: a `pk` of any length (not 33, 64 or 65 bytes: "public
/// key is not a valid point encoding"), any `sig_der` bytes, an ID of any length.
mod sm2 {
    use blockverify::{SigReport, Sm2Item, Verifier};
    use serde::{Deserialize, Deserializer};

    use super::{LineFormat, decode_fixed, decode_hex, parse_json};

    pub(super) struct Format;

    /// One input line's fields, as text. An optional field may be absent but not `null`.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        pk: String,
        #[serde(default, deserialize_with = "present")]
        sig: Option<String>,
        #[serde(default, deserialize_with = "present")]
        sig_der: Option<String>,
        msg: String,
        #[serde(default, deserialize_with = "present")]
        id: Option<String>,
    }

    fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        String::deserialize(d).map(Some)
    }

    enum Signature {
        Raw([u8; 64]),
        Der(Vec<u8>),
    }

    pub(super) struct Decoded {
        pk: Vec<u8>,
        sig: Signature,
        msg: Vec<u8>,
        /// `None`: the default ID.
        id: Option<Vec<u8>>,
    }

    impl Decoded {
        fn item(&self) -> Sm2Item<'_> {
            let item = match &self.sig {
                Signature::Raw(sig) => Sm2Item::new(&self.pk, sig, &self.msg),
                Signature::Der(der) => Sm2Item::der(&self.pk, der, &self.msg),
            };
            match &self.id {
                Some(id) => item.with_id(id),
                None => item,
            }
        }
    }

    impl LineFormat for Format {
        type Decoded = Decoded;

        fn decode(&self, text: &str) -> Result<Decoded, String> {
            let line: Line = parse_json(text)?;
            let pk = decode_hex("pk", &line.pk)?;
            let sig = match (&line.sig, &line.sig_der) {
                (Some(raw), None) => Signature::Raw(decode_fixed("sig", raw)?),
                (None, Some(der)) => Signature::Der(decode_hex("sig_der", der)?),
                (None, None) => return Err("missing field `sig` or `sig_der`".into()),
                (Some(_), Some(_)) => return Err("both `sig` and `sig_der`; give one".into()),
            };
            Ok(Decoded {
                pk,
                sig,
                msg: decode_hex("msg", &line.msg)?,
                id: line
                    .id
                    .as_deref()
                    .map(|id| decode_hex("id", id))
                    .transpose()?,
            })
        }

        fn verify(&self, verifier: &Verifier, lines: &[&Decoded]) -> SigReport {
            let items: Vec<Sm2Item<'_>> = lines.iter().map(|d| d.item()).collect();
            verifier.verify_sm2(&items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, ()>> {
        let mut r = input;
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut r, &mut buf, max).unwrap() {
                LineRead::Eof => return out,
                LineRead::Line => out.push(Ok(buf.clone())),
                LineRead::TooLong => out.push(Err(())),
            }
        }
    }

    #[test]
    fn line_splitting_handles_crlf_missing_final_newline_and_overlong_lines() {
        assert_eq!(
            lines_of(b"a\r\nbb\n\nccc", 10),
            vec![
                Ok(b"a".to_vec()),
                Ok(b"bb".to_vec()),
                Ok(vec![]),
                Ok(b"ccc".to_vec())
            ]
        );
        assert_eq!(
            lines_of(b"short\nthis one is too long\nok\n", 8),
            vec![Ok(b"short".to_vec()), Err(()), Ok(b"ok".to_vec())]
        );
        assert!(lines_of(b"", 8).is_empty());
    }

    #[test]
    fn decode_line_names_what_is_wrong() {
        let ed = ed25519::Format(Policy::Zip215);
        let pk = "00".repeat(32);
        let sig = "00".repeat(64);
        assert!(
            decode_line(
                &ed,
                format!(r#"{{"pk":"{pk}","sig":"{sig}","msg":""}}"#).as_bytes()
            )
            .is_ok()
        );
        let err = |s: String| decode_line(&ed, s.as_bytes()).err().unwrap();
        assert!(err(format!(r#"{{"pk":"{pk}","sig":"{sig}"}}"#)).contains("bad JSON"));
        assert!(
            err(format!(r#"{{"pk":"00","sig":"{sig}","msg":""}}"#)).contains("pk: expected 64")
        );
        assert!(
            err(format!(r#"{{"pk":"{pk}","sig":"{sig}","msg":"0g"}}"#)).contains("msg: bad hex")
        );
        assert!(
            err(format!(
                r#"{{"pk":"{pk}","sig":"zz{}","msg":""}}"#,
                &sig[2..]
            ))
            .contains("sig: bad hex")
        );
        assert!(err("   ".into()).contains("empty"));
        assert!(
            decode_line(&ed, &[0xff, 0xfe])
                .err()
                .unwrap()
                .contains("UTF-8")
        );
    }

    #[test]
    fn sm2_decode_leaves_encodings_to_the_library_and_names_what_is_wrong() {
        let sig = "00".repeat(64);
        let ok = |s: String| decode_line(&sm2::Format, s.as_bytes()).is_ok();
        let err = |s: String| decode_line(&sm2::Format, s.as_bytes()).err().unwrap();
        // Any key length and any DER bytes decode: their validity is a verdict.
        for pk in [
            "",
            "04",
            &"00".repeat(33),
            &"00".repeat(64),
            &"00".repeat(70),
        ] {
            assert!(
                ok(format!(r#"{{"pk":"{pk}","sig":"{sig}","msg":""}}"#)),
                "{pk}"
            );
        }
        assert!(ok(r#"{"pk":"","sig_der":"","msg":"","id":""}"#.into()));
        assert!(ok(
            r#"{"pk":"","sig_der":"3000","msg":"61","id":"31"}"#.into()
        ));
        for (line, what) in [
            (
                r#"{"pk":"","msg":""}"#.to_string(),
                "missing field `sig` or `sig_der`",
            ),
            (
                format!(r#"{{"pk":"","sig":"{sig}","sig_der":"","msg":""}}"#),
                "both `sig` and `sig_der`",
            ),
            (
                r#"{"pk":"","sig":"00","msg":""}"#.to_string(),
                "sig: expected 128",
            ),
            (
                format!(r#"{{"pk":"0","sig":"{sig}","msg":""}}"#),
                "pk: bad hex",
            ),
            (
                r#"{"pk":"","sig_der":"zz","msg":""}"#.to_string(),
                "sig_der: bad hex",
            ),
            (
                format!(r#"{{"pk":"","sig":"{sig}","msg":"","id":"0g"}}"#),
                "id: bad hex",
            ),
            (
                format!(r#"{{"pk":"","sig":"{sig}","msg":"","id":null}}"#),
                "bad JSON",
            ),
            (
                format!(r#"{{"pk":"","sig":"{sig}","msg":"","x":""}}"#),
                "bad JSON: unknown field",
            ),
            (
                format!(r#"{{"sig":"{sig}","msg":""}}"#),
                "bad JSON: missing field `pk`",
            ),
            (
                format!(r#"{{"pk":"","sig":"{sig}"}}"#),
                "bad JSON: missing field `msg`",
            ),
        ] {
            assert!(
                err(line.clone()).starts_with(what),
                "{line}: {}",
                err(line.clone())
            );
        }
    }
}
