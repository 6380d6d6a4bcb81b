//! The reference block format, versions 1 and 2: encoding, and zero-copy parsing that checks
//! every length against the bytes that remain.
#![forbid(unsafe_code)]

use std::fmt;

use crate::Policy;
use crate::merkle::Scheme;

/// The first four bytes of every block.
pub const MAGIC: [u8; 4] = *b"BVBK";
/// The newest format version; this crate reads every version from 1 to this one. A header is
/// written in the lowest version that can state its signature algorithm
/// ([`SigAlgorithm::format_version`]): Ed25519 blocks in version 1, SM2 blocks in version 2
/// (why: the [module docs](super)).
pub const VERSION: u16 = 2;
/// Bytes in a header (every version).
pub const HEADER_LEN: usize = 94;
/// The four bytes that open every record's signed message (domain separation: a signature
/// over a version-1 record can never be replayed as a signature over anything that does not
/// start with these bytes, and vice versa).
pub const RECORD_TAG: [u8; 4] = *b"BVR1";
/// Bytes of an Ed25519 record around its payload: signature 64, key 32, tag 4, kind 1,
/// length 4.
pub const RECORD_OVERHEAD: usize = 105;
/// Bytes of an SM2 record around its payload: signature `r ‖ s` 64, key `x ‖ y` 64, tag 4,
/// kind 1, length 4.
pub const SM2_RECORD_OVERHEAD: usize = 137;
/// Bytes of a record's signature, under every algorithm.
const SIGNATURE_LEN: usize = 64;
/// Bytes of the signed message before the payload: tag 4, kind 1, length 4.
const MESSAGE_HEADER_LEN: usize = 9;

/// Default of [`Limits::max_records`].
pub const DEFAULT_MAX_RECORDS: u32 = 4_000_000;
/// Default of [`Limits::max_payload`]: 1 MiB.
pub const DEFAULT_MAX_PAYLOAD: u32 = 1 << 20;

/// What a record is. The kind is signed with the payload, so it cannot be changed without
/// breaking the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// Anything else.
    Other,
    /// An e-invoice.
    Invoice,
    /// An e-certificate: a property title, a business licence.
    Certificate,
    /// An evidence deposit (a document digest with its context).
    Evidence,
}

impl RecordKind {
    /// The byte that encodes the kind.
    pub fn code(self) -> u8 {
        match self {
            RecordKind::Other => 0,
            RecordKind::Invoice => 1,
            RecordKind::Certificate => 2,
            RecordKind::Evidence => 3,
        }
    }

    /// The kind a byte encodes, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => RecordKind::Other,
            1 => RecordKind::Invoice,
            2 => RecordKind::Certificate,
            3 => RecordKind::Evidence,
            _ => return None,
        })
    }

    /// A lower-case name (`other`, `invoice`, `certificate`, `evidence`).
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Other => "other",
            RecordKind::Invoice => "invoice",
            RecordKind::Certificate => "certificate",
            RecordKind::Evidence => "evidence",
        }
    }
}

fn scheme_code(scheme: Scheme) -> u8 {
    match scheme {
        Scheme::Rfc9162 => 1,
        Scheme::Bitcoin => 2,
        Scheme::FiscoBcos => 3,
        Scheme::ChainMakerSm3 => 4,
        Scheme::ChainMakerSha256 => 5,
    }
}

fn scheme_from_code(code: u8) -> Option<Scheme> {
    Some(match code {
        1 => Scheme::Rfc9162,
        2 => Scheme::Bitcoin,
        3 => Scheme::FiscoBcos,
        4 => Scheme::ChainMakerSm3,
        5 => Scheme::ChainMakerSha256,
        _ => return None,
    })
}

fn policy_code(policy: Policy) -> u8 {
    match policy {
        Policy::Zip215 => 1,
        Policy::Strict => 2,
    }
}

/// How a block's records are signed, with the rules they are checked under.
///
/// The Ed25519 variant carries its [`Policy`]; SM2 has one rule set (GB/T 32918.2, see
/// [`crate::sig::sm2`]) and so no policy. Holding the policy here rather than beside the
/// algorithm leaves no header that states an SM2 block with a policy, or an Ed25519 block
/// without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigAlgorithm {
    /// Ed25519 (RFC 8032) under a policy: 32-byte keys; the header is version 1.
    Ed25519(Policy),
    /// SM2 (GB/T 32918.2, curve sm2p256v1, default user ID) over the SM3 hash of the signed
    /// message, as FISCO BCOS signs a transaction's hash: 64-byte keys `x ‖ y`; the header is
    /// version 2.
    Sm2,
}

impl SigAlgorithm {
    /// The algorithm's code in a version-2 header (byte 8): `1` Ed25519, `2` SM2. (Ed25519
    /// headers are written as version 1, which has no such byte; see the [module
    /// docs](super).)
    pub fn code(self) -> u8 {
        match self {
            SigAlgorithm::Ed25519(_) => 1,
            SigAlgorithm::Sm2 => 2,
        }
    }

    /// A lower-case name (`ed25519`, `sm2`), as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            SigAlgorithm::Ed25519(_) => "ed25519",
            SigAlgorithm::Sm2 => "sm2",
        }
    }

    /// The Ed25519 policy; `None` for SM2, which has one rule set.
    pub fn policy(self) -> Option<Policy> {
        match self {
            SigAlgorithm::Ed25519(policy) => Some(policy),
            SigAlgorithm::Sm2 => None,
        }
    }

    /// The format version a header with this algorithm is written in: the lowest that can
    /// state it (1 for Ed25519, 2 for SM2).
    pub fn format_version(self) -> u16 {
        match self {
            SigAlgorithm::Ed25519(_) => 1,
            SigAlgorithm::Sm2 => 2,
        }
    }

    /// Bytes of an issuer key in a record: 32 (Ed25519), 64 (SM2, `x ‖ y`).
    pub fn key_len(self) -> usize {
        match self {
            SigAlgorithm::Ed25519(_) => 32,
            SigAlgorithm::Sm2 => 64,
        }
    }

    /// Bytes of a record around its payload ([`RECORD_OVERHEAD`], [`SM2_RECORD_OVERHEAD`]).
    pub fn record_overhead(self) -> usize {
        SIGNATURE_LEN + self.key_len() + MESSAGE_HEADER_LEN
    }

    /// Offset of the signed message (the tag) within a record.
    fn message_offset(self) -> usize {
        SIGNATURE_LEN + self.key_len()
    }
}

/// A block header (see the [module docs](super) for its bytes in each version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// How the records' Merkle root is computed.
    pub scheme: Scheme,
    /// How every record is signed, and the rules it is checked under. It also fixes the
    /// header's format version ([`SigAlgorithm::format_version`]).
    pub algorithm: SigAlgorithm,
    /// Position in the chain (the first block is 0).
    pub height: u64,
    /// SHA-256 of the previous block's header ([`Header::hash`]); zeros for the first block.
    pub prev_hash: [u8; 32],
    /// The Merkle root of the records' encodings.
    pub merkle_root: [u8; 32],
    /// How many records follow.
    pub record_count: u32,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
}

impl Header {
    /// The format version of this header's bytes: 1 for Ed25519, 2 for SM2.
    pub fn version(&self) -> u16 {
        self.algorithm.format_version()
    }

    /// The header's 94 bytes, in its version ([`Header::version`]). Every header has exactly
    /// one encoding, so `Header::parse(&h.to_bytes()) == Ok(h)` and a parsed header re-encodes
    /// to the bytes it came from.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&self.version().to_le_bytes());
        b[6] = scheme_code(self.scheme);
        match self.algorithm {
            // Version 1: 8..10 reserved, zero.
            SigAlgorithm::Ed25519(policy) => b[7] = policy_code(policy),
            // Version 2: no policy (byte 7 zero), the algorithm, 9 reserved, zero.
            SigAlgorithm::Sm2 => b[8] = SigAlgorithm::Sm2.code(),
        }
        b[10..18].copy_from_slice(&self.height.to_le_bytes());
        b[18..50].copy_from_slice(&self.prev_hash);
        b[50..82].copy_from_slice(&self.merkle_root);
        b[82..86].copy_from_slice(&self.record_count.to_le_bytes());
        b[86..94].copy_from_slice(&self.timestamp.to_le_bytes());
        b
    }

    /// The block's identity: SHA-256 of its header bytes (the next block's `prev_hash`). The
    /// header commits to the records through the Merkle root.
    pub fn hash(&self) -> [u8; 32] {
        crate::merkle::sha256::sha256(&self.to_bytes())
    }

    /// Parses the first [`HEADER_LEN`] bytes of `bytes`, of either version.
    ///
    /// # Errors
    /// A [`FormatError`] naming the offending offset. Fields are checked in offset order,
    /// except that a version-2 header's algorithm (byte 8) is checked before its policy byte
    /// (7), whose rule depends on it.
    pub fn parse(bytes: &[u8]) -> Result<Header, FormatError> {
        let at = |offset: usize, kind: FormatErrorKind| FormatError {
            offset,
            record: None,
            kind,
        };
        if bytes.len() < HEADER_LEN {
            return Err(at(
                bytes.len(),
                FormatErrorKind::Truncated {
                    what: "header",
                    needed: HEADER_LEN,
                    available: bytes.len(),
                },
            ));
        }
        if bytes[0..4] != MAGIC {
            return Err(at(0, FormatErrorKind::BadMagic));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if !(1..=VERSION).contains(&version) {
            return Err(at(4, FormatErrorKind::UnsupportedVersion(version)));
        }
        let scheme =
            scheme_from_code(bytes[6]).ok_or(at(6, FormatErrorKind::UnknownScheme(bytes[6])))?;
        let algorithm = if version == 1 {
            let policy = match bytes[7] {
                1 => Policy::Zip215,
                2 => Policy::Strict,
                code => return Err(at(7, FormatErrorKind::UnknownPolicy(code))),
            };
            if bytes[8..10] != [0, 0] {
                return Err(at(8, FormatErrorKind::ReservedNotZero));
            }
            SigAlgorithm::Ed25519(policy)
        } else {
            let algorithm = match bytes[8] {
                // One encoding per header: an Ed25519 header is version 1 (see the module
                // docs), so a version-2 one would hash differently from its re-encoding.
                1 => {
                    return Err(at(
                        4,
                        FormatErrorKind::NonCanonicalVersion {
                            version,
                            canonical: 1,
                        },
                    ));
                }
                2 => SigAlgorithm::Sm2,
                code => return Err(at(8, FormatErrorKind::UnknownAlgorithm(code))),
            };
            if bytes[7] != 0 {
                return Err(at(7, FormatErrorKind::PolicyNotApplicable(bytes[7])));
            }
            if bytes[9] != 0 {
                return Err(at(9, FormatErrorKind::ReservedNotZero));
            }
            algorithm
        };
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
        let hash_at = |o: usize| -> [u8; 32] { bytes[o..o + 32].try_into().expect("32 bytes") };
        Ok(Header {
            scheme,
            algorithm,
            height: u64_at(10),
            prev_hash: hash_at(18),
            merkle_root: hash_at(50),
            record_count: u32::from_le_bytes(bytes[82..86].try_into().expect("4 bytes")),
            timestamp: u64_at(86),
        })
    }
}

/// One record, borrowed from the block's bytes, with its block's signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    bytes: &'a [u8],
    algorithm: SigAlgorithm,
}

impl<'a> RecordView<'a> {
    /// The record's whole encoding: what the block's Merkle tree takes (or hashes into) its
    /// leaf.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The signature algorithm of the record's block (records do not carry their own).
    pub fn algorithm(&self) -> SigAlgorithm {
        self.algorithm
    }

    /// The issuer's signature: Ed25519 `R ‖ S` over [`RecordView::signed_message`], or SM2
    /// `r ‖ s` (32 bytes each, big-endian) over [`RecordView::message_sm3`].
    pub fn signature(&self) -> &'a [u8; 64] {
        self.bytes[..SIGNATURE_LEN]
            .try_into()
            .expect("checked by the parser")
    }

    /// The issuer's public key as carried: 32 bytes (Ed25519), or 64 bytes `x ‖ y` (SM2,
    /// big-endian coordinates, no `04` prefix); [`SigAlgorithm::key_len`] bytes.
    pub fn issuer(&self) -> &'a [u8] {
        &self.bytes[SIGNATURE_LEN..self.algorithm.message_offset()]
    }

    /// The signed bytes: tag `BVR1`, kind, payload length, payload. Ed25519 signs them as
    /// they are; SM2 signs their SM3 hash ([`RecordView::message_sm3`]).
    pub fn signed_message(&self) -> &'a [u8] {
        &self.bytes[self.algorithm.message_offset()..]
    }

    /// SM3 of [`RecordView::signed_message`]: the 32-byte message an SM2 issuer signs, with
    /// the default user ID (FISCO BCOS style: the signer signs the transaction's hash, so
    /// `e = SM3(Z_A ‖ SM3(signed message))`). Computed on each call (one SM3 of the record);
    /// the verifier hashes a whole block's records many at a time instead.
    pub fn message_sm3(&self) -> [u8; 32] {
        crate::merkle::sm3::sm3(self.signed_message())
    }

    /// What the record is.
    pub fn kind(&self) -> RecordKind {
        RecordKind::from_code(self.bytes[self.algorithm.message_offset() + 4])
            .expect("checked by the parser")
    }

    /// The record's content (an invoice, a certificate, ...), opaque to the ledger.
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[self.algorithm.record_overhead()..]
    }

    /// The Ed25519 signature item of this record, borrowed; `None` for a record of an SM2
    /// block (see [`RecordView::sm2_item`]). Every record of a parsed block has its header's
    /// [`Header::algorithm`].
    pub fn sig_item(&self) -> Option<crate::SigItem<'a>> {
        let key: &'a [u8; 32] = self.issuer().try_into().ok()?;
        Some(crate::SigItem::new(
            key,
            self.signature(),
            self.signed_message(),
        ))
    }

    /// The SM2 signature item of this record (default user ID), borrowing the key and the
    /// signature from the block and the signed message from `message_sm3`, which must be
    /// this record's [`RecordView::message_sm3`] (the hash lives with the caller, so that a
    /// block's hashes can be computed many at a time). `None` for an Ed25519 record.
    pub fn sm2_item<'h>(&self, message_sm3: &'h [u8; 32]) -> Option<crate::Sm2Item<'h>>
    where
        'a: 'h,
    {
        match self.algorithm {
            SigAlgorithm::Sm2 => Some(crate::Sm2Item::new(
                self.issuer(),
                self.signature(),
                message_sm3,
            )),
            _ => None,
        }
    }
}

/// Limits a parser enforces on hostile input; the defaults suit real blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most records a block may declare (default [`DEFAULT_MAX_RECORDS`]).
    pub max_records: u32,
    /// Largest payload a record may carry, in bytes (default [`DEFAULT_MAX_PAYLOAD`]).
    pub max_payload: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_records: DEFAULT_MAX_RECORDS,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }
}

/// A parsed block: its header and its records, borrowed from the caller's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockView<'a> {
    header: Header,
    records: Vec<RecordView<'a>>,
}

impl<'a> BlockView<'a> {
    /// Parses a whole block with the default [`Limits`].
    ///
    /// # Errors
    /// A [`FormatError`] naming the byte offset (and record index) of the first problem.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FormatError> {
        Self::parse_with(bytes, Limits::default())
    }

    /// Parses a whole block. Memory: one 24-byte view per record, and the record count is
    /// checked against the bytes present before anything is allocated, so a hostile count
    /// cannot make it allocate more than its bytes justify.
    ///
    /// # Errors
    /// A [`FormatError`] naming the byte offset (and record index) of the first problem.
    pub fn parse_with(bytes: &'a [u8], limits: Limits) -> Result<Self, FormatError> {
        let header = Header::parse(bytes)?;
        let count = header.record_count;
        if count > limits.max_records {
            return Err(FormatError {
                offset: 82,
                record: None,
                kind: FormatErrorKind::TooManyRecords {
                    count,
                    limit: limits.max_records,
                },
            });
        }
        let body = bytes.len() - HEADER_LEN;
        let overhead = header.algorithm.record_overhead();
        if (count as usize).saturating_mul(overhead) > body {
            return Err(FormatError {
                offset: 82,
                record: None,
                kind: FormatErrorKind::Truncated {
                    what: "records (the declared count needs more bytes than the block has)",
                    needed: (count as usize).saturating_mul(overhead),
                    available: body,
                },
            });
        }
        let mut records = Vec::with_capacity(count as usize);
        let mut at = HEADER_LEN;
        for index in 0..count {
            let (record, len) = parse_record(&bytes[at..], at, index, header.algorithm, limits)?;
            records.push(record);
            at += len;
        }
        if at != bytes.len() {
            return Err(FormatError {
                offset: at,
                record: None,
                kind: FormatErrorKind::TrailingBytes {
                    count: bytes.len() - at,
                },
            });
        }
        Ok(BlockView { header, records })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The records, in block order; each has the header's algorithm.
    pub fn records(&self) -> &[RecordView<'a>] {
        &self.records
    }
}

/// One record of a block signed with `algorithm` at the start of `rest` (which starts at
/// block offset `at`): the view and its length.
fn parse_record<'a>(
    rest: &'a [u8],
    at: usize,
    index: u32,
    algorithm: SigAlgorithm,
    limits: Limits,
) -> Result<(RecordView<'a>, usize), FormatError> {
    let err = |offset: usize, kind: FormatErrorKind| FormatError {
        offset: at + offset,
        record: Some(index),
        kind,
    };
    let overhead = algorithm.record_overhead();
    if rest.len() < overhead {
        return Err(err(
            rest.len(),
            FormatErrorKind::Truncated {
                what: "record",
                needed: overhead,
                available: rest.len(),
            },
        ));
    }
    let tag = algorithm.message_offset();
    if rest[tag..tag + 4] != RECORD_TAG {
        return Err(err(tag, FormatErrorKind::BadRecordTag));
    }
    if RecordKind::from_code(rest[tag + 4]).is_none() {
        return Err(err(tag + 4, FormatErrorKind::UnknownKind(rest[tag + 4])));
    }
    let payload = u32::from_le_bytes(rest[tag + 5..tag + 9].try_into().expect("4 bytes"));
    if payload > limits.max_payload {
        return Err(err(
            tag + 5,
            FormatErrorKind::PayloadTooLarge {
                len: payload,
                limit: limits.max_payload,
            },
        ));
    }
    let len = overhead.saturating_add(payload as usize);
    if rest.len() < len {
        return Err(err(
            rest.len(),
            FormatErrorKind::Truncated {
                what: "record payload",
                needed: len,
                available: rest.len(),
            },
        ));
    }
    Ok((
        RecordView {
            bytes: &rest[..len],
            algorithm,
        },
        len,
    ))
}

/// Appends one Ed25519 record's encoding to `out`: the bytes that `sign` signs are built in
/// place, then the signature is written in front of them.
///
/// # Panics
/// If `payload` is longer than `u32::MAX` bytes (a caller's bug, not input).
pub fn encode_record(
    out: &mut Vec<u8>,
    kind: RecordKind,
    issuer: &[u8; 32],
    payload: &[u8],
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) {
    let (start, message) = append_unsigned(out, kind, issuer, payload);
    let signature = sign(&out[message..]);
    out[start..start + SIGNATURE_LEN].copy_from_slice(&signature);
}

/// Appends one SM2 record's encoding to `out`: the signed message is built in place, `sign`
/// is given its SM3 hash (the 32-byte message the issuer signs with the default user ID, see
/// [`RecordView::message_sm3`]) and returns `r ‖ s`, which is written in front.
///
/// # Panics
/// If `payload` is longer than `u32::MAX` bytes (a caller's bug, not input).
pub fn encode_sm2_record(
    out: &mut Vec<u8>,
    kind: RecordKind,
    issuer: &[u8; 64],
    payload: &[u8],
    sign: impl FnOnce(&[u8; 32]) -> [u8; 64],
) {
    let (start, message) = append_unsigned(out, kind, issuer, payload);
    let signature = sign(&crate::merkle::sm3::sm3(&out[message..]));
    out[start..start + SIGNATURE_LEN].copy_from_slice(&signature);
}

/// Appends a record with a zero signature; returns the offsets in `out` of the record and of
/// its signed message.
fn append_unsigned(
    out: &mut Vec<u8>,
    kind: RecordKind,
    issuer: &[u8],
    payload: &[u8],
) -> (usize, usize) {
    let len = u32::try_from(payload.len()).expect("payload under 4 GiB");
    let start = out.len();
    out.extend_from_slice(&[0u8; SIGNATURE_LEN]);
    out.extend_from_slice(issuer);
    let message = out.len();
    out.extend_from_slice(&RECORD_TAG);
    out.push(kind.code());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    (start, message)
}

/// The signed message of a record (tag, kind, length, payload), for signers that sign
/// elsewhere; the same under every algorithm (an SM2 issuer signs its SM3 hash).
///
/// # Panics
/// If `payload` is longer than `u32::MAX` bytes (a caller's bug, not input).
pub fn signed_message(kind: RecordKind, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("payload under 4 GiB");
    let mut m = Vec::with_capacity(MESSAGE_HEADER_LEN + payload.len());
    m.extend_from_slice(&RECORD_TAG);
    m.push(kind.code());
    m.extend_from_slice(&len.to_le_bytes());
    m.extend_from_slice(payload);
    m
}

/// Why bytes are not a well-formed block: what, where (byte offset from the block's start),
/// and in which record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset of the problem from the start of the block.
    pub offset: usize,
    /// The record it was found in, if any.
    pub record: Option<u32>,
    /// What is wrong.
    pub kind: FormatErrorKind,
}

/// What is wrong with a block's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatErrorKind {
    /// The bytes end before a structure does.
    Truncated {
        /// The structure.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// The block does not start with `BVBK`.
    BadMagic,
    /// A format version this crate cannot read.
    UnsupportedVersion(u16),
    /// An unknown Merkle scheme code.
    UnknownScheme(u8),
    /// An unknown signature policy code (version 1).
    UnknownPolicy(u8),
    /// An unknown signature algorithm code (version 2, byte 8).
    UnknownAlgorithm(u8),
    /// A policy byte other than `0` in a header whose algorithm has no policy (SM2).
    PolicyNotApplicable(u8),
    /// A header written in another version than the one its content fixes (an Ed25519
    /// header as version 2): every header has one encoding, so that its hash is well
    /// defined.
    NonCanonicalVersion {
        /// The version found.
        version: u16,
        /// The version such a header is written in.
        canonical: u16,
    },
    /// The reserved header bytes are not zero.
    ReservedNotZero,
    /// More records than the parser's limit.
    TooManyRecords {
        /// Declared.
        count: u32,
        /// Allowed.
        limit: u32,
    },
    /// A record's signed message does not start with `BVR1`.
    BadRecordTag,
    /// An unknown record kind code.
    UnknownKind(u8),
    /// A payload longer than the parser's limit.
    PayloadTooLarge {
        /// Declared.
        len: u32,
        /// Allowed.
        limit: u32,
    },
    /// Bytes after the last declared record.
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}", self.offset)?;
        if let Some(r) = self.record {
            write!(f, " (record {r})")?;
        }
        f.write_str(": ")?;
        match &self.kind {
            FormatErrorKind::Truncated {
                what,
                needed,
                available,
            } => write!(
                f,
                "truncated {what}: needs {needed} bytes, {available} remain"
            ),
            FormatErrorKind::BadMagic => f.write_str("not a block (magic is not BVBK)"),
            FormatErrorKind::UnsupportedVersion(v) => {
                write!(
                    f,
                    "format version {v} is not supported (this reads 1 to {VERSION})"
                )
            }
            FormatErrorKind::UnknownScheme(c) => write!(f, "unknown Merkle scheme code {c}"),
            FormatErrorKind::UnknownPolicy(c) => write!(f, "unknown signature policy code {c}"),
            FormatErrorKind::UnknownAlgorithm(c) => {
                write!(f, "unknown signature algorithm code {c}")
            }
            FormatErrorKind::PolicyNotApplicable(c) => write!(
                f,
                "signature policy code {c} in an SM2 header (SM2 has no policy: the byte is 0)"
            ),
            FormatErrorKind::NonCanonicalVersion { version, canonical } => write!(
                f,
                "this header's algorithm is written as format version {canonical}, not {version} \
                 (one encoding per header)"
            ),
            FormatErrorKind::ReservedNotZero => f.write_str("reserved header bytes are not zero"),
            FormatErrorKind::TooManyRecords { count, limit } => {
                write!(f, "{count} records declared, the limit is {limit}")
            }
            FormatErrorKind::BadRecordTag => f.write_str("record tag is not BVR1"),
            FormatErrorKind::UnknownKind(c) => write!(f, "unknown record kind {c}"),
            FormatErrorKind::PayloadTooLarge { len, limit } => {
                write!(f, "payload of {len} bytes, the limit is {limit}")
            }
            FormatErrorKind::TrailingBytes { count } => {
                write!(f, "{count} bytes after the last record")
            }
        }
    }
}

impl std::error::Error for FormatError {}
