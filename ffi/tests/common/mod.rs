//! Test data for the C and Go sides, and the Rust API's answers for it.
//!
//! A fixture is text: sections, each a line `KIND ARGS... N` and N item lines, fields in hex
//! (`-` for empty) — the format `tests/c/abi_test.c` and the Go tests read. Each section's
//! expected results come from the Rust API (a CPU verifier), and each section also yields the
//! `result` line the C program prints when it gets exactly those results.
#![allow(dead_code)] // each test binary uses part of it

use std::fmt::Write as _;
use std::path::PathBuf;

use blockverify::block::SigAlgorithm;
use blockverify::merkle::Scheme;
use blockverify::sig::sm2::encode_der_signature;
use blockverify::{Backend, Policy, Reason, SigItem, Sm2Item, Verdict, Verifier};
use blockverify_testkit::mixed::make_item;
use blockverify_testkit::{BlockSpec, generate_block};

/// The CPU verifier whose answers are the expected values.
pub fn rust_verifier() -> Verifier {
    Verifier::builder()
        .backend(Backend::Cpu)
        .threads(2)
        .build()
        .expect("a CPU verifier")
}

/// The ABI code of a reason, found through the ABI's own names (which a unit test checks
/// against `Reason::code`).
pub fn abi_code(reason: Reason) -> u8 {
    (1..=255u8)
        .find(|&c| {
            let name = blockverify_ffi::bv_reason_name(c);
            // SAFETY: a non-NULL name is a static NUL-terminated string.
            !name.is_null()
                && unsafe { std::ffi::CStr::from_ptr(name) }.to_bytes() == reason.code().as_bytes()
        })
        .expect("every reason has an ABI code")
}

pub fn verdict_code(v: Verdict) -> u8 {
    match v {
        Verdict::Valid => 0,
        Verdict::Invalid(r) => abi_code(r),
    }
}

fn hex_or_dash(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".to_string()
    } else {
        hex::encode(bytes)
    }
}

fn verdict_list(codes: &[u8]) -> String {
    if codes.is_empty() {
        "-".to_string()
    } else {
        codes
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A fixture being written, with the C program's expected `result` lines.
#[derive(Default)]
pub struct Fixture {
    pub text: String,
    pub results: Vec<String>,
    pub sections: usize,
}

/// One SM2 item as the fixture carries it.
pub struct Sm2Case {
    pub key: Vec<u8>,
    pub sig: Vec<u8>,
    pub msg: Vec<u8>,
    /// `None`: the default ID.
    pub id: Option<Vec<u8>>,
}

impl Fixture {
    fn section_header(&mut self, header: &str) -> usize {
        writeln!(self.text, "{header}").unwrap();
        self.sections += 1;
        self.sections - 1
    }

    fn signature_result(&mut self, section: usize, name: &str, codes: &[u8]) {
        let invalid = codes.iter().filter(|&&c| c != 0).count();
        self.results.push(format!(
            "result {section} {name} {invalid} {}",
            verdict_list(codes)
        ));
    }

    pub fn ed25519(&mut self, v: &Verifier, policy: Policy, items: &[SigItem<'_>]) {
        let code = if policy == Policy::Strict { 1 } else { 0 };
        let section = self.section_header(&format!("ed25519 {code} {}", items.len()));
        let report = v.verify_ed25519(policy, items);
        let codes: Vec<u8> = report.verdicts().iter().map(|&v| verdict_code(v)).collect();
        for (item, c) in items.iter().zip(&codes) {
            writeln!(
                self.text,
                "{} {} {} {c}",
                hex::encode(item.public_key),
                hex::encode(item.signature),
                hex_or_dash(item.message)
            )
            .unwrap();
        }
        let name = if code == 1 {
            "ed25519/strict"
        } else {
            "ed25519/zip215"
        };
        self.signature_result(section, name, &codes);
    }

    /// `kind`: `sm2` (64-byte keys, raw signatures, default ID), `sm2_ids` (the same with
    /// IDs), or `sm2_ex` with `der`.
    pub fn sm2(&mut self, v: &Verifier, kind: &str, der: bool, cases: &[Sm2Case]) {
        let items: Vec<Sm2Item<'_>> = cases
            .iter()
            .map(|c| {
                let item = if der {
                    Sm2Item::der(&c.key, &c.sig, &c.msg)
                } else {
                    match <&[u8; 64]>::try_from(&c.sig[..]) {
                        Ok(rs) => Sm2Item::new(&c.key, rs, &c.msg),
                        // What the ABI promises for a raw signature of another length.
                        Err(_) => Sm2Item::der(&c.key, &[], &c.msg),
                    }
                };
                match &c.id {
                    Some(id) => item.with_id(id),
                    None => item,
                }
            })
            .collect();
        let codes: Vec<u8> = v
            .verify_sm2(&items)
            .verdicts()
            .iter()
            .map(|&v| verdict_code(v))
            .collect();
        let (header, name) = match kind {
            "sm2" => (format!("sm2 {}", cases.len()), "sm2".to_string()),
            "sm2_ids" => (format!("sm2_ids {}", cases.len()), "sm2/ids".to_string()),
            _ => (
                format!("sm2_ex {} {}", u8::from(der), cases.len()),
                format!("sm2_ex/{}", if der { "der" } else { "raw" }),
            ),
        };
        let section = self.section_header(&header);
        for (c, code) in cases.iter().zip(&codes) {
            let id = if kind == "sm2" {
                String::new()
            } else {
                format!(
                    "{} ",
                    hex_or_dash(c.id.as_deref().unwrap_or(blockverify::sig::sm2::DEFAULT_ID))
                )
            };
            writeln!(
                self.text,
                "{} {} {} {id}{code}",
                hex_or_dash(&c.key),
                hex_or_dash(&c.sig),
                hex_or_dash(&c.msg)
            )
            .unwrap();
        }
        self.signature_result(section, &name, &codes);
    }

    pub fn merkle(&mut self, v: &Verifier, scheme: Scheme, code: i32, leaves: &[Vec<u8>]) {
        let section = self.section_header(&format!("merkle {code} {}", leaves.len()));
        for leaf in leaves {
            writeln!(self.text, "{}", hex_or_dash(leaf)).unwrap();
        }
        match v.merkle_root(scheme, leaves) {
            Ok(report) => {
                writeln!(self.text, "root {}", hex::encode(report.root())).unwrap();
                self.results.push(format!(
                    "result {section} merkle/{code} 0 {} {}",
                    hex::encode(report.root()),
                    u8::from(report.duplicate_pair().is_some())
                ));
            }
            Err(_) => {
                writeln!(self.text, "root error").unwrap();
                self.results
                    .push(format!("result {section} merkle/{code} -1 error"));
            }
        }
    }

    pub fn block(&mut self, v: &Verifier, bytes: &[u8]) {
        let section = self.section_header("block 1");
        let report = v.verify_block_bytes(bytes).expect("a well-formed block");
        let codes: Vec<u8> = report
            .verdicts()
            .iter()
            .map(|&r| match r {
                blockverify::block::RecordVerdict::Valid => 0,
                blockverify::block::RecordVerdict::Invalid(reason) => abi_code(reason),
                blockverify::block::RecordVerdict::Duplicate { .. } => 255,
                other => panic!("a record verdict the ABI does not know: {other:?}"),
            })
            .collect();
        let bad = report.bad_records().len();
        let valid = u8::from(report.is_valid());
        let root = hex::encode(report.computed_root());
        writeln!(
            self.text,
            "{} {bad} {valid} {root} {}",
            hex::encode(bytes),
            verdict_list(&codes)
        )
        .unwrap();
        self.results.push(format!(
            "result {section} block {bad} {valid} {root} {}",
            verdict_list(&codes)
        ));
    }
}

/// Ed25519 items: the repository's edge cases (tests/data/edge_cases.jsonl, with both
/// policies' verdicts) and random mixes of honest, tampered and mixed-order items.
pub fn ed25519_items() -> Vec<([u8; 32], [u8; 64], Vec<u8>)> {
    let path = repo_root().join("tests/data/edge_cases.jsonl");
    let text = std::fs::read_to_string(&path).expect("tests/data/edge_cases.jsonl");
    let field = |line: &str, name: &str| -> Vec<u8> {
        let key = format!("\"{name}\":\"");
        let start = line.find(&key).expect("field present") + key.len();
        let end = start + line[start..].find('"').expect("closing quote");
        hex::decode(&line[start..end]).expect("hex")
    };
    let mut items: Vec<([u8; 32], [u8; 64], Vec<u8>)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            (
                field(l, "pk").try_into().expect("32-byte key"),
                field(l, "sig").try_into().expect("64-byte signature"),
                field(l, "msg"),
            )
        })
        .collect();
    for seed in 0..300u64 {
        let o = make_item((seed % 10) as u8, seed.wrapping_mul(7919) + 3);
        items.push((o.pk, o.sig, o.msg));
    }
    items
}

/// SM2 secret keys and the RustCrypto signer for an ID: (uncompressed key 04‖x‖y, signer).
pub fn sm2_signer(seed: u8, id: &str) -> (Vec<u8>, sm2::dsa::SigningKey) {
    let mut secret = [0x11u8; 32];
    secret[0] = 0x01;
    secret[31] = seed;
    let sk = sm2::SecretKey::from_slice(&secret).expect("secret in range");
    let signing = sm2::dsa::SigningKey::new(id, &sk).expect("signing key");
    let public = signing.verifying_key().to_sec1_bytes().to_vec();
    (public, signing)
}

pub fn sm2_sign(key: &sm2::dsa::SigningKey, message: &[u8]) -> [u8; 64] {
    use sm2::dsa::signature::Signer;
    let sig: sm2::dsa::Signature = key.sign(message);
    sig.to_bytes().as_slice().try_into().expect("64 bytes")
}

fn compressed(uncompressed: &[u8]) -> Vec<u8> {
    let mut c = vec![0x02 | (uncompressed[64] & 1)];
    c.extend_from_slice(&uncompressed[1..33]);
    c
}

/// The GB/T 32918 example (tests/data/guomi/sm2_example.txt): raw key, raw signature, message.
pub fn sm2_standard_example() -> (Vec<u8>, [u8; 64], Vec<u8>) {
    let text = std::fs::read_to_string(repo_root().join("tests/data/guomi/sm2_example.txt"))
        .expect("tests/data/guomi/sm2_example.txt");
    let value = |name: &str| -> Vec<u8> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .expect("the example has this value");
        hex::decode(&line[name.len() + 1..]).expect("hex")
    };
    let sk = sm2::SecretKey::from_slice(&value("d")).expect("d in range");
    let public = sm2::dsa::SigningKey::new("1234567812345678", &sk)
        .expect("signing key")
        .verifying_key()
        .to_sec1_bytes()
        .to_vec();
    let mut rs = [0u8; 64];
    rs[..32].copy_from_slice(&value("r"));
    rs[32..].copy_from_slice(&value("s"));
    (public[1..].to_vec(), rs, b"message digest".to_vec())
}

/// SM2 cases for every section kind: honest items and one of each failure.
pub fn sm2_cases(kind: &str, der: bool) -> Vec<Sm2Case> {
    let ids: [&str; 4] = [
        "1234567812345678",
        "",
        "alice@ledger.example",
        "ID\u{0}with NUL",
    ];
    let mut cases = Vec::new();
    if kind == "sm2" {
        let (key, rs, msg) = sm2_standard_example();
        cases.push(Sm2Case {
            key,
            sig: rs.to_vec(),
            msg,
            id: None,
        });
    }
    for i in 0..24u8 {
        let id = if kind == "sm2" {
            ids[0]
        } else {
            ids[usize::from(i) % ids.len()]
        };
        let (public, signer) = sm2_signer(i, id);
        let msg: Vec<u8> = (0..(usize::from(i) * 13) % 70)
            .map(|b| b as u8 ^ i)
            .collect();
        let rs = sm2_sign(&signer, &msg);
        let key = match (kind, i % 3) {
            ("sm2" | "sm2_ids", _) => public[1..].to_vec(),
            (_, 0) => public[1..].to_vec(),
            (_, 1) => public.clone(),
            _ => compressed(&public),
        };
        let mut case = Sm2Case {
            key,
            sig: if der {
                encode_der_signature(&rs)
            } else {
                rs.to_vec()
            },
            msg,
            id: (kind != "sm2").then(|| id.as_bytes().to_vec()),
        };
        // Every fourth item honest; the others broken one way each.
        match i % 8 {
            1 => case.msg.push(b'!'),               // equation fails
            2 if !der => case.sig[..32].fill(0),    // r = 0
            2 => case.sig.push(0),                  // DER with a trailing byte
            3 if !der => case.sig[32..].fill(0xFF), // s >= n
            3 => case.sig[0] = 0x31,                // not a SEQUENCE
            5 => {
                // A coordinate changed: off the curve (or malformed for compressed keys).
                let last = case.key.len() - 1;
                case.key[last] ^= 1;
            }
            6 if kind == "sm2_ex" => case.key.truncate(40), // no SM2 key is 40 bytes
            6 if kind == "sm2_ids" => case.id = Some(vec![b'x'; 8192]), // ID too long
            7 if kind == "sm2_ex" && !der => case.sig.truncate(63), // raw, not 64 bytes
            _ => {}
        }
        cases.push(case);
    }
    cases
}

/// Merkle leaves: any length for RFC 9162, 32 bytes otherwise.
pub fn merkle_leaves(scheme: Scheme, n: usize, seed: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = if scheme == Scheme::Rfc9162 {
                (i * 7 + usize::from(seed)) % 90
            } else {
                32
            };
            (0..len)
                .map(|j| (i * 31 + j * 17 + usize::from(seed)) as u8)
                .collect()
        })
        .collect()
}

pub const SCHEMES: [(Scheme, i32); 5] = [
    (Scheme::Rfc9162, 0),
    (Scheme::Bitcoin, 1),
    (Scheme::FiscoBcos, 2),
    (Scheme::ChainMakerSm3, 3),
    (Scheme::ChainMakerSha256, 4),
];

/// The whole fixture the C program runs.
pub fn full_fixture() -> Fixture {
    let v = rust_verifier();
    let mut f = Fixture::default();
    let owned = ed25519_items();
    let items: Vec<SigItem<'_>> = owned
        .iter()
        .map(|(k, s, m)| SigItem::new(k, s, m))
        .collect();
    f.ed25519(&v, Policy::Zip215, &items);
    f.ed25519(&v, Policy::Strict, &items);
    f.sm2(&v, "sm2", false, &sm2_cases("sm2", false));
    f.sm2(&v, "sm2_ids", false, &sm2_cases("sm2_ids", false));
    f.sm2(&v, "sm2_ex", true, &sm2_cases("sm2_ex", true));
    f.sm2(&v, "sm2_ex", false, &sm2_cases("sm2_ex", false));
    merkle_sections(&mut f, &v, &[0, 1, 2, 3, 5, 8, 100, 1025]);
    f.block(
        &v,
        &test_block(300, SigAlgorithm::Ed25519(Policy::Zip215), Scheme::Rfc9162),
    );
    f.block(
        &v,
        &test_block(
            300,
            SigAlgorithm::Ed25519(Policy::Strict),
            Scheme::FiscoBcos,
        ),
    );
    f.block(
        &v,
        &test_block(120, SigAlgorithm::Sm2, Scheme::ChainMakerSm3),
    );
    f
}

/// Merkle sections for every scheme at each size (leaves seeded by the size's position), plus,
/// for the schemes of 32-byte leaves, a CVE-2012-2459 shape (the last two leaves equal: a pair
/// under Bitcoin and ChainMaker) and a leaf that is not 32 bytes (an error).
pub fn merkle_sections(f: &mut Fixture, v: &Verifier, sizes: &[usize]) {
    for (scheme, code) in SCHEMES {
        for (seed, &n) in sizes.iter().enumerate() {
            f.merkle(v, scheme, code, &merkle_leaves(scheme, n, seed as u8));
        }
        if scheme != Scheme::Rfc9162 {
            let mut leaves = merkle_leaves(scheme, 6, 9);
            leaves[5] = leaves[4].clone();
            f.merkle(v, scheme, code, &leaves);
            let mut leaves = merkle_leaves(scheme, 3, 9);
            leaves[1].pop();
            f.merkle(v, scheme, code, &leaves);
        }
    }
}

/// A generated block of the reference format: `records` records, 5% corrupted, signed with
/// `algorithm`.
pub fn test_block(records: usize, algorithm: SigAlgorithm, scheme: Scheme) -> Vec<u8> {
    generate_block(&BlockSpec {
        records,
        issuers: 7,
        invalid_rate: 0.05,
        algorithm,
        scheme,
        seed: 20,
        ..BlockSpec::default()
    })
    .bytes
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ is inside the repository")
        .to_path_buf()
}

/// The profile directory of this build (`target/<profile>`): the test binary is in its
/// `deps/`, with this build's `libblockverify_ffi.{so,a}`.
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>")
        .to_path_buf();
    for lib in [shared_library_name(), "libblockverify_ffi.a"] {
        assert!(
            dir.join(lib).exists() || dir.join("deps").join(lib).exists(),
            "{} not built beside the tests (cargo builds the cdylib and staticlib of \
             blockverify-ffi with its tests)",
            dir.join(lib).display()
        );
    }
    dir
}

pub fn shared_library_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libblockverify_ffi.dylib"
    } else {
        "libblockverify_ffi.so"
    }
}
