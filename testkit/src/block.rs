//! Synthetic ledger traffic as real blocks: invoices, certificates and evidence deposits from
//! a few issuers, signed with Ed25519 or SM2, deterministic by seed, with chosen corruptions.
#![forbid(unsafe_code)]

use rand::rngs::ChaCha20Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use crate::sm2_signer::Sm2SigningKey;
use crate::workload::{SigningKey, ZipfTable};
use blockverify::Policy;
use blockverify::block::record_root;
use blockverify::block::{
    Header, RecordKind, SigAlgorithm, encode_record, encode_sm2_record, signed_message,
};
use blockverify::merkle::Scheme;

/// How a generated record (or block) was made invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Corruption {
    /// The producer included a record whose signature does not verify (one bit of the low
    /// byte of `S` (Ed25519) or `s` (SM2) flipped, so it stays in range and the equation is
    /// what fails). The root covers the record as it is.
    BadSignature,
    /// A payload bit flipped in transit, after the root was computed: the record's signature
    /// fails and the block's root no longer matches.
    TamperedPayload,
    /// A record repeated later in the block (a replay). The root covers the copy.
    DuplicatedRecord,
    /// The header's Merkle root altered (block level).
    WrongRoot,
    /// The block cut short inside its last record (block level: the parser reports it).
    TruncatedRecord,
    /// The record names an issuer key that did not sign it (a valid key of another signer;
    /// the signature is the true issuer's): the equation fails. The root covers the record
    /// as it is.
    WrongKey,
}

impl Corruption {
    /// Every kind, in a fixed order.
    pub const ALL: [Corruption; 6] = [
        Corruption::BadSignature,
        Corruption::TamperedPayload,
        Corruption::DuplicatedRecord,
        Corruption::WrongRoot,
        Corruption::TruncatedRecord,
        Corruption::WrongKey,
    ];

    /// The kinds that corrupt one record.
    pub const PER_RECORD: [Corruption; 4] = [
        Corruption::BadSignature,
        Corruption::TamperedPayload,
        Corruption::DuplicatedRecord,
        Corruption::WrongKey,
    ];

    /// A lower-case name with dashes (`bad-signature`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Corruption::BadSignature => "bad-signature",
            Corruption::TamperedPayload => "tampered-payload",
            Corruption::DuplicatedRecord => "duplicated-record",
            Corruption::WrongRoot => "wrong-root",
            Corruption::TruncatedRecord => "truncated-record",
            Corruption::WrongKey => "wrong-key",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct BlockSpec {
    /// Records in the block.
    pub records: usize,
    /// Distinct issuers (Zipf-distributed shares: a few sign most records); at least 1.
    pub issuers: usize,
    /// Pad every payload with spaces to at least this many bytes (`0`: natural sizes,
    /// about 150–400 bytes).
    pub payload_len: usize,
    /// Fraction of records, in `[0, 1]`, given a per-record corruption.
    pub invalid_rate: f64,
    /// The per-record corruptions to draw from (each corrupted record gets one at random).
    pub corruptions: Vec<Corruption>,
    /// Block-level corruptions to apply ([`Corruption::WrongRoot`],
    /// [`Corruption::TruncatedRecord`]).
    pub block_corruptions: Vec<Corruption>,
    /// Merkle scheme of the header.
    pub scheme: Scheme,
    /// How the records are signed: Ed25519 under a policy (a version-1 block) or SM2 with
    /// the default user ID over each record's SM3 hash (a version-2 block).
    pub algorithm: SigAlgorithm,
    /// Height of the block.
    pub height: u64,
    /// Hash of the previous block's header.
    pub prev_hash: [u8; 32],
    /// Header timestamp (seconds since the Unix epoch).
    pub timestamp: u64,
    /// Seed: the same spec gives the same bytes.
    pub seed: u64,
}

impl Default for BlockSpec {
    fn default() -> Self {
        BlockSpec {
            records: 1000,
            issuers: 64,
            payload_len: 0,
            invalid_rate: 0.0,
            corruptions: Corruption::PER_RECORD.to_vec(),
            block_corruptions: Vec::new(),
            scheme: Scheme::Rfc9162,
            algorithm: SigAlgorithm::Ed25519(Policy::Zip215),
            height: 0,
            prev_hash: [0; 32],
            timestamp: 1_795_000_000,
            seed: 2026,
        }
    }
}

/// A generated block and what was done to it.
#[derive(Debug, Clone)]
pub struct GeneratedBlock {
    /// The block's bytes.
    pub bytes: Vec<u8>,
    /// Its header (with the root as written, corrupted or not).
    pub header: Header,
    /// Corrupted records, ascending by index, with how.
    pub corrupted: Vec<(usize, Corruption)>,
    /// For each [`Corruption::DuplicatedRecord`], the index of the original.
    pub duplicate_of: Vec<(usize, usize)>,
    /// Block-level corruptions applied.
    pub block_corruptions: Vec<Corruption>,
}

/// What is drawn for one record before signing.
struct Draft {
    kind: RecordKind,
    issuer: usize,
    payload: Vec<u8>,
}

/// The issuers' keys under the block's algorithm.
enum Signers {
    Ed25519(Vec<SigningKey>),
    Sm2(Vec<Sm2SigningKey>),
}

impl Signers {
    /// Keys from `seeds`, made in parallel on the current rayon pool.
    fn new(algorithm: SigAlgorithm, seeds: &[[u8; 32]]) -> Self {
        match algorithm {
            SigAlgorithm::Ed25519(_) => {
                Signers::Ed25519(seeds.par_iter().map(SigningKey::from_seed).collect())
            }
            SigAlgorithm::Sm2 => {
                Signers::Sm2(seeds.par_iter().map(Sm2SigningKey::from_seed).collect())
            }
            other => unimplemented!("the testkit has no {} signer", other.name()),
        }
    }

    /// Offset in a record of the low byte of the signature's second scalar: `S` is
    /// little-endian (byte 32), SM2's `s` big-endian (byte 63).
    fn low_s_byte(&self) -> usize {
        match self {
            Signers::Ed25519(_) => 32,
            Signers::Sm2(_) => 63,
        }
    }

    /// Appends record `d`, signed by its issuer (the signature computed beforehand).
    fn encode(&self, body: &mut Vec<u8>, d: &Draft, signature: &[u8; 64]) {
        match self {
            Signers::Ed25519(keys) => encode_record(
                body,
                d.kind,
                &keys[d.issuer].public_key(),
                &d.payload,
                |_| *signature,
            ),
            Signers::Sm2(keys) => encode_sm2_record(
                body,
                d.kind,
                &keys[d.issuer].public_key(),
                &d.payload,
                |_| *signature,
            ),
        }
    }

    /// Issuer `d.issuer`'s signature on record `d`: Ed25519 over the signed message, SM2 over
    /// its SM3 hash (computed with RustCrypto's `sm3`, independently of the library's).
    fn sign(&self, d: &Draft) -> [u8; 64] {
        let message = signed_message(d.kind, &d.payload);
        match self {
            Signers::Ed25519(keys) => keys[d.issuer].sign(&message),
            Signers::Sm2(keys) => {
                use sm3::Digest;
                keys[d.issuer].sign(&sm3::Sm3::digest(&message))
            }
        }
    }

    /// A valid public key that signs none of the block's records (from its own seed).
    fn impostor_key(&self, seed: &[u8; 32]) -> Vec<u8> {
        match self {
            Signers::Ed25519(_) => SigningKey::from_seed(seed).public_key().to_vec(),
            Signers::Sm2(_) => Sm2SigningKey::from_seed(seed).public_key().to_vec(),
        }
    }
}

/// Generates a block (signing on the current rayon pool).
///
/// The records, their issuers and the corruptions drawn depend on the seed and the spec, not
/// on the algorithm: the same spec under Ed25519 and SM2 gives the same payloads and the same
/// corrupted indices.
///
/// # Panics
/// If `spec.records` exceeds `u32::MAX` (a block's record count is a u32), or for a signature
/// algorithm the kit has no signer for (it has Ed25519 and SM2, every algorithm today).
pub fn generate_block(spec: &BlockSpec) -> GeneratedBlock {
    let mut rng = ChaCha20Rng::seed_from_u64(spec.seed);
    let issuers = spec.issuers.max(1);
    let seeds: Vec<[u8; 32]> = (0..issuers).map(|_| rng.random()).collect();
    let signers = Signers::new(spec.algorithm, &seeds);
    let names: Vec<String> = (0..issuers).map(|j| issuer_name(j, &mut rng)).collect();
    let zipf = ZipfTable::new(issuers);

    let mut drafts: Vec<Draft> = (0..spec.records)
        .map(|i| {
            let issuer = zipf.sample(&mut rng);
            let (kind, mut payload) = match rng.random_range(0..10) {
                0..=5 => (
                    RecordKind::Invoice,
                    invoice(i, &names[issuer], spec.timestamp, &mut rng),
                ),
                6..=8 => (
                    RecordKind::Certificate,
                    certificate(i, &names[issuer], spec.timestamp, &mut rng),
                ),
                _ => (
                    RecordKind::Evidence,
                    evidence(i, &names[issuer], spec.timestamp, &mut rng),
                ),
            };
            if payload.len() < spec.payload_len {
                payload.resize(spec.payload_len, b' ');
            }
            Draft {
                kind,
                issuer,
                payload,
            }
        })
        .collect();

    // Which records are corrupted, and how (drawn before signing so it is seed-determined).
    let rate = spec.invalid_rate.clamp(0.0, 1.0);
    let mut corrupted = Vec::new();
    if !spec.corruptions.is_empty() {
        for i in 0..spec.records {
            if rng.random::<f64>() < rate {
                let how = spec.corruptions[rng.random_range(0..spec.corruptions.len())];
                // A duplicate needs an earlier record to copy.
                if how != Corruption::DuplicatedRecord || i > 0 {
                    corrupted.push((i, how));
                }
            }
        }
    }
    // A copy must be byte-identical to a record the block holds, and `duplicate_of` names its
    // first occurrence: the original is neither altered by another corruption nor a copy
    // itself (the nearest such record below the drawn one, else above it; with none, the
    // record is left as it is).
    let mut unusable = vec![false; spec.records];
    for &(i, how) in &corrupted {
        unusable[i] = how != Corruption::DuplicatedRecord;
    }
    let mut duplicate_of = Vec::new();
    for &(i, how) in &corrupted {
        if how == Corruption::DuplicatedRecord {
            let drawn = rng.random_range(0..i);
            if let Some(j) = (0..=drawn)
                .rev()
                .chain(drawn + 1..i)
                .find(|&j| !unusable[j])
            {
                duplicate_of.push((i, j));
                unusable[i] = true;
            }
        }
    }
    corrupted.retain(|&(i, how)| {
        how != Corruption::DuplicatedRecord
            || duplicate_of.binary_search_by_key(&i, |&(d, _)| d).is_ok()
    });
    for &(i, j) in &duplicate_of {
        drafts[i] = Draft {
            kind: drafts[j].kind,
            issuer: drafts[j].issuer,
            payload: drafts[j].payload.clone(),
        };
    }

    let signatures: Vec<[u8; 64]> = drafts.par_iter().map(|d| signers.sign(d)).collect();

    let overhead = spec.algorithm.record_overhead();
    let mut body = Vec::with_capacity(drafts.iter().map(|d| d.payload.len() + overhead).sum());
    let mut starts = Vec::with_capacity(drafts.len() + 1);
    for (d, sig) in drafts.iter().zip(&signatures) {
        starts.push(body.len());
        signers.encode(&mut body, d, sig);
    }
    starts.push(body.len());
    // The impostor's seed comes from its own stream, so blocks without wrong keys are the
    // same bytes as before the kind existed.
    let impostor = corrupted
        .iter()
        .any(|&(_, how)| how == Corruption::WrongKey)
        .then(|| signers.impostor_key(&ChaCha20Rng::seed_from_u64(!spec.seed).random()));
    for &(i, how) in &corrupted {
        match how {
            // A bit of the low byte of `S` or `s`: the scalar stays in range, so the equation
            // is what fails.
            Corruption::BadSignature => {
                body[starts[i] + signers.low_s_byte()] ^= 1 << rng.random_range(0..8);
            }
            Corruption::WrongKey => {
                let key = impostor.as_deref().expect("made when a record needs it");
                body[starts[i] + 64..starts[i] + 64 + key.len()].copy_from_slice(key);
            }
            _ => {}
        }
    }

    let leaves: Vec<&[u8]> = starts.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    let mut merkle_root = record_root(spec.scheme, &leaves).root();
    drop(leaves);
    for &(i, how) in &corrupted {
        if how == Corruption::TamperedPayload {
            // Generated payloads are never empty (they are JSON documents).
            let payload_start = starts[i] + overhead;
            let bit = rng.random_range(0..(starts[i + 1] - payload_start) * 8);
            body[payload_start + bit / 8] ^= 1 << (bit % 8);
        }
    }
    if spec.block_corruptions.contains(&Corruption::WrongRoot) {
        merkle_root[rng.random_range(0..32)] ^= 1 << rng.random_range(0..8);
    }
    let header = Header {
        scheme: spec.scheme,
        algorithm: spec.algorithm,
        height: spec.height,
        prev_hash: spec.prev_hash,
        merkle_root,
        record_count: u32::try_from(spec.records).expect("at most u32::MAX records"),
        timestamp: spec.timestamp,
    };
    let mut bytes = Vec::with_capacity(blockverify::block::HEADER_LEN + body.len());
    bytes.extend_from_slice(&header.to_bytes());
    bytes.extend_from_slice(&body);
    if spec
        .block_corruptions
        .contains(&Corruption::TruncatedRecord)
        && spec.records > 0
    {
        // Cut inside the last record.
        let last = starts[spec.records - 1] + blockverify::block::HEADER_LEN;
        let cut = last + rng.random_range(1..(bytes.len() - last).max(2));
        bytes.truncate(cut.min(bytes.len() - 1));
    }
    GeneratedBlock {
        bytes,
        header,
        corrupted,
        duplicate_of,
        block_corruptions: spec.block_corruptions.clone(),
    }
}

const SURNAMES: [&str; 12] = [
    "Meier", "Rossi", "Dubois", "Novak", "Silva", "Jansen", "Kowalski", "Nielsen", "Garcia",
    "Horvat", "Popescu", "Virtanen",
];
const GOODS: [&str; 10] = [
    "consulting hours",
    "steel beams",
    "office chairs",
    "software licence",
    "freight, 20ft container",
    "solar panels",
    "maintenance contract",
    "printed circuit boards",
    "organic wheat, tonnes",
    "legal services",
];

fn issuer_name(j: usize, rng: &mut ChaCha20Rng) -> String {
    format!(
        "{} & {} {}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        SURNAMES[(j * 7 + 3) % SURNAMES.len()],
        ["GmbH", "S.p.A.", "SAS", "s.r.o.", "B.V.", "Oy"][j % 6]
    )
}

fn tax_id(rng: &mut ChaCha20Rng) -> String {
    let country = ["DE", "IT", "FR", "CZ", "NL", "FI", "ES", "PL"][rng.random_range(0..8)];
    format!("{country}{:09}", rng.random_range(0..1_000_000_000u32))
}

fn date(base: u64, days_back: u64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let days = (base / 86_400).saturating_sub(days_back) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn year(now: u64) -> u32 {
    date(now, 0)
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2026)
}

fn invoice(i: usize, seller: &str, now: u64, rng: &mut ChaCha20Rng) -> Vec<u8> {
    let lines = rng.random_range(1..=3);
    let mut net = 0u64;
    let mut items = Vec::with_capacity(lines);
    for _ in 0..lines {
        let qty = rng.random_range(1..50u64);
        let unit = rng.random_range(100..200_000u64);
        net += qty * unit;
        items.push(format!(
            "{{\"d\":\"{}\",\"q\":{qty},\"u\":{unit}}}",
            GOODS[rng.random_range(0..GOODS.len())]
        ));
    }
    let rate = [0u64, 7, 10, 19, 21, 22][rng.random_range(0..6)];
    let tax = net * rate / 100;
    format!(
        "{{\"t\":\"invoice\",\"no\":\"INV-{}-{i:07}\",\"seller\":\"{seller}\",\"seller_tax\":\"{}\",\"buyer_tax\":\"{}\",\"date\":\"{}\",\"lines\":[{}],\"net\":{net},\"rate\":{rate},\"tax\":{tax},\"total\":{},\"cur\":\"EUR\"}}",
        year(now),
        tax_id(rng),
        tax_id(rng),
        date(now, rng.random_range(0..30)),
        items.join(","),
        net + tax
    )
    .into_bytes()
}

fn certificate(i: usize, issuer: &str, now: u64, rng: &mut ChaCha20Rng) -> Vec<u8> {
    let holder = format!(
        "{} {}",
        [
            "Anna", "Luca", "Marie", "Jan", "Sofia", "Pekka", "Ines", "Tomasz"
        ][rng.random_range(0..8)],
        SURNAMES[rng.random_range(0..SURNAMES.len())]
    );
    let details = if rng.random_bool(0.5) {
        format!(
            "\"title\":{{\"parcel\":\"{}-{:05}/{}\",\"area_m2\":{},\"use\":\"{}\"}}",
            ["KA", "MI", "LY", "BR", "UT"][rng.random_range(0..5)],
            rng.random_range(0..100_000u32),
            rng.random_range(1..40u32),
            rng.random_range(40..50_000u32),
            ["residential", "agricultural", "commercial"][rng.random_range(0..3)]
        )
    } else {
        format!(
            "\"licence\":{{\"no\":\"LIC-{:08}\",\"activity\":\"{}\",\"premises\":\"{} {}\"}}",
            rng.random_range(0..100_000_000u32),
            ["retail", "food service", "transport", "construction"][rng.random_range(0..4)],
            rng.random_range(1..300u32),
            ["Main St", "Harbour Rd", "Station Sq"][rng.random_range(0..3)]
        )
    };
    format!(
        "{{\"t\":\"certificate\",\"id\":\"CERT-{i:08}\",\"issuer\":\"{issuer}\",\"holder\":\"{holder}\",\"holder_id\":\"{}\",{details},\"valid_from\":\"{}\",\"valid_to\":\"{}-12-31\"}}",
        tax_id(rng),
        date(now, rng.random_range(0..400)),
        year(now) + 5
    )
    .into_bytes()
}

fn evidence(i: usize, depositor: &str, now: u64, rng: &mut ChaCha20Rng) -> Vec<u8> {
    let digest: [u8; 32] = rng.random();
    format!(
        "{{\"t\":\"evidence\",\"id\":\"EV-{i:08}\",\"depositor\":\"{depositor}\",\"sha256\":\"{}\",\"media\":\"{}\",\"bytes\":{},\"deposited\":\"{}\"}}",
        hex::encode(digest),
        ["application/pdf", "image/jpeg", "message/rfc822", "video/mp4"][rng.random_range(0..4)],
        rng.random_range(1_000..50_000_000u32),
        date(now, 0)
    )
    .into_bytes()
}
