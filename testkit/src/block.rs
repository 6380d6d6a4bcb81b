//! Synthetic ledger traffic as real blocks: invoices, certificates and evidence deposits from
//! a few issuers, deterministic by seed, with chosen corruptions.
#![forbid(unsafe_code)]

use rand::rngs::ChaCha20Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use crate::workload::{SigningKey, ZipfTable};
use blockverify::Policy;
use blockverify::block::record_root;
use blockverify::block::{Header, RecordKind, encode_record, signed_message};
use blockverify::merkle::Scheme;

/// How a generated record (or block) was made invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Corruption {
    /// The producer included a record whose signature does not verify (one bit of `S`
    /// flipped; `S` stays canonical). The root covers the record as it is.
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
}

impl Corruption {
    /// Every kind, in a fixed order.
    pub const ALL: [Corruption; 5] = [
        Corruption::BadSignature,
        Corruption::TamperedPayload,
        Corruption::DuplicatedRecord,
        Corruption::WrongRoot,
        Corruption::TruncatedRecord,
    ];

    /// The kinds that corrupt one record.
    pub const PER_RECORD: [Corruption; 3] = [
        Corruption::BadSignature,
        Corruption::TamperedPayload,
        Corruption::DuplicatedRecord,
    ];

    /// A lower-case name with dashes (`bad-signature`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Corruption::BadSignature => "bad-signature",
            Corruption::TamperedPayload => "tampered-payload",
            Corruption::DuplicatedRecord => "duplicated-record",
            Corruption::WrongRoot => "wrong-root",
            Corruption::TruncatedRecord => "truncated-record",
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
    /// Signature policy of the header.
    pub policy: Policy,
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
            policy: Policy::Zip215,
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

/// Generates a block (signing on the current rayon pool).
///
/// # Panics
/// If `spec.records` exceeds `u32::MAX` (a block's record count is a u32).
pub fn generate_block(spec: &BlockSpec) -> GeneratedBlock {
    let mut rng = ChaCha20Rng::seed_from_u64(spec.seed);
    let issuers = spec.issuers.max(1);
    let seeds: Vec<[u8; 32]> = (0..issuers).map(|_| rng.random()).collect();
    let signers: Vec<SigningKey> = seeds.par_iter().map(SigningKey::from_seed).collect();
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
    let mut duplicate_of = Vec::new();
    for &(i, how) in &corrupted {
        if how == Corruption::DuplicatedRecord {
            let j = rng.random_range(0..i);
            // Copy an original that is itself not a copy, so `of` names the first occurrence.
            let j = duplicate_of
                .iter()
                .find(|&&(d, _)| d == j)
                .map_or(j, |&(_, o)| o);
            duplicate_of.push((i, j));
        }
    }
    for &(i, j) in &duplicate_of {
        drafts[i] = Draft {
            kind: drafts[j].kind,
            issuer: drafts[j].issuer,
            payload: drafts[j].payload.clone(),
        };
    }

    let signatures: Vec<[u8; 64]> = drafts
        .par_iter()
        .map(|d| signers[d.issuer].sign(&signed_message(d.kind, &d.payload)))
        .collect();

    let mut body = Vec::with_capacity(drafts.iter().map(|d| d.payload.len() + 105).sum());
    let mut starts = Vec::with_capacity(drafts.len() + 1);
    for (d, sig) in drafts.iter().zip(&signatures) {
        starts.push(body.len());
        encode_record(
            &mut body,
            d.kind,
            &signers[d.issuer].public_key(),
            &d.payload,
            |_| *sig,
        );
    }
    starts.push(body.len());
    for &(i, how) in &corrupted {
        if how == Corruption::BadSignature {
            // Low byte of S: stays canonical, so the equation is what fails.
            body[starts[i] + 32] ^= 1 << rng.random_range(0..8);
        }
    }

    let leaves: Vec<&[u8]> = starts.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    let mut merkle_root = record_root(spec.scheme, &leaves).root();
    drop(leaves);
    for &(i, how) in &corrupted {
        if how == Corruption::TamperedPayload {
            // Generated payloads are never empty (they are JSON documents).
            let payload_start = starts[i] + 105;
            let bit = rng.random_range(0..(starts[i + 1] - payload_start) * 8);
            body[payload_start + bit / 8] ^= 1 << (bit % 8);
        }
    }
    if spec.block_corruptions.contains(&Corruption::WrongRoot) {
        merkle_root[rng.random_range(0..32)] ^= 1 << rng.random_range(0..8);
    }
    let header = Header {
        scheme: spec.scheme,
        policy: spec.policy,
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
