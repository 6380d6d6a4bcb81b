//! The hand-built edge cases of `tests/data/edge_cases.jsonl` (written by the ignored
//! `regenerate_edge_cases` test in tests/edge_cases.rs), shared by the CPU and GPU tests.
#![allow(dead_code)]

use std::path::PathBuf;

use blockverify::{Policy, Reason, SigItem, Verdict};
use serde::{Deserialize, Serialize};

/// One line of the data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    pub pk: String,
    pub sig: String,
    pub msg: String,
    pub zip215: String,
    pub strict: String,
}

/// A decoded line.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub pk: [u8; 32],
    pub sig: [u8; 64],
    pub msg: Vec<u8>,
    pub zip215: Verdict,
    pub strict: Verdict,
}

impl Case {
    pub fn item(&self) -> SigItem<'_> {
        SigItem::new(&self.pk, &self.sig, &self.msg)
    }

    pub fn expected(&self, policy: Policy) -> Verdict {
        match policy {
            Policy::Zip215 => self.zip215,
            Policy::Strict => self.strict,
            other => panic!("no recorded verdict for policy {other:?}"),
        }
    }
}

pub const POLICIES: [Policy; 2] = [Policy::Zip215, Policy::Strict];

pub const ALL_REASONS: [Reason; 7] = [
    Reason::NonCanonicalS,
    Reason::KeyNotOnCurve,
    Reason::RNotOnCurve,
    Reason::SmallOrderKey,
    Reason::SmallOrderR,
    Reason::NonCanonicalR,
    Reason::EquationFailed,
];

/// The reasons a policy can give (the small-order and canonical-R checks are Strict only).
pub fn reasons_for(policy: Policy) -> Vec<Reason> {
    match policy {
        Policy::Zip215 => vec![
            Reason::NonCanonicalS,
            Reason::KeyNotOnCurve,
            Reason::RNotOnCurve,
            Reason::EquationFailed,
        ],
        _ => ALL_REASONS.to_vec(),
    }
}

pub fn data_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/edge_cases.jsonl")
}

pub fn verdict_str(v: Verdict) -> &'static str {
    v.reason().map_or("valid", Reason::as_str)
}

pub fn parse_verdict(s: &str) -> Verdict {
    if s == "valid" {
        return Verdict::Valid;
    }
    let reason = ALL_REASONS
        .iter()
        .copied()
        .find(|r| r.as_str() == s)
        .unwrap_or_else(|| panic!("unknown verdict text {s:?}"));
    Verdict::Invalid(reason)
}

pub fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let v = hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"));
    v.try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("expected {N} bytes, got {}", v.len()))
}

pub fn load_cases() -> Vec<Case> {
    let path = data_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let r: Record = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
            Case {
                pk: unhex(&r.pk),
                sig: unhex(&r.sig),
                msg: hex::decode(&r.msg).expect("msg hex"),
                zip215: parse_verdict(&r.zip215),
                strict: parse_verdict(&r.strict),
                name: r.name,
            }
        })
        .collect()
}
