//! `blockverify sigs`: JSON Lines in, one verdict line out per input line.
//!
//! Lines are read in windows of `window` lines (the only memory that grows with input), each
//! window verified as one batch, and the verdicts written in input order before the next
//! window is read. A line longer than `max_line_bytes` is skipped to its end without being
//! held in memory, and reported malformed.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use blockverify::{Backend, Policy, SigItem, Verdict, Verifier};
use serde::{Deserialize, Serialize};

use super::CliError;

pub struct Options {
    pub policy: Policy,
    pub backend: Backend,
    pub threads: usize,
    pub window: usize,
    pub max_line_bytes: usize,
    pub input: PathBuf,
}

/// One input line's fields, as text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    pk: String,
    sig: String,
    msg: String,
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

/// A line decoded to bytes.
struct Decoded {
    pk: [u8; 32],
    sig: [u8; 64],
    msg: Vec<u8>,
}

pub fn run(opts: &Options) -> Result<ExitCode, CliError> {
    let verifier = Verifier::builder()
        .policy(opts.policy)
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
    let all_valid = verify_stream(&verifier, input, &mut out, opts.window, opts.max_line_bytes)?;
    out.flush()?;
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Verifies every line of `input`, writing verdict lines to `out`. Returns whether all were
/// valid. Errors are I/O errors only; bad lines are verdicts.
pub fn verify_stream(
    verifier: &Verifier,
    mut input: impl BufRead,
    out: &mut impl Write,
    window: usize,
    max_line_bytes: usize,
) -> io::Result<bool> {
    let mut all_valid = true;
    let mut index: u64 = 0;
    let mut lines: Vec<Result<Decoded, String>> = Vec::with_capacity(window.min(1 << 16));
    let mut buf = Vec::new();
    loop {
        lines.clear();
        while lines.len() < window {
            match read_line(&mut input, &mut buf, max_line_bytes)? {
                LineRead::Eof => break,
                LineRead::TooLong => {
                    lines.push(Err(format!("line longer than {max_line_bytes} bytes")))
                }
                LineRead::Line => lines.push(decode_line(&buf)),
            }
        }
        if lines.is_empty() {
            return Ok(all_valid);
        }
        let ok: Vec<&Decoded> = lines.iter().filter_map(|l| l.as_ref().ok()).collect();
        let items: Vec<SigItem<'_>> = ok
            .iter()
            .map(|d| SigItem::new(&d.pk, &d.sig, &d.msg))
            .collect();
        let report = verifier.verify_signatures(&items);
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

fn decode_line(bytes: &[u8]) -> Result<Decoded, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "line is not UTF-8".to_string())?;
    if text.trim().is_empty() {
        return Err("empty line".into());
    }
    let line: Line = serde_json::from_str(text).map_err(|e| format!("bad JSON: {e}"))?;
    let pk = decode_fixed::<32>("pk", &line.pk)?;
    let sig = decode_fixed::<64>("sig", &line.sig)?;
    let msg = hex::decode(&line.msg).map_err(|e| format!("msg: bad hex: {e}"))?;
    Ok(Decoded { pk, sig, msg })
}

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
        let pk = "00".repeat(32);
        let sig = "00".repeat(64);
        assert!(
            decode_line(format!(r#"{{"pk":"{pk}","sig":"{sig}","msg":""}}"#).as_bytes()).is_ok()
        );
        let err = |s: String| decode_line(s.as_bytes()).err().unwrap();
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
        assert!(decode_line(&[0xff, 0xfe]).err().unwrap().contains("UTF-8"));
    }
}
