//! The reference block format, version 1: encoding, and zero-copy parsing that checks every
//! length against the bytes that remain.
#![forbid(unsafe_code)]

use std::fmt;

use crate::Policy;
use crate::merkle::Scheme;

/// The first four bytes of every block.
pub const MAGIC: [u8; 4] = *b"BVBK";
/// The format version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Bytes in a header.
pub const HEADER_LEN: usize = 94;
/// The four bytes that open every record's signed message (domain separation: a signature
/// over a version-1 record can never be replayed as a signature over anything that does not
/// start with these bytes, and vice versa).
pub const RECORD_TAG: [u8; 4] = *b"BVR1";
/// Bytes of a record around its payload: signature 64, key 32, tag 4, kind 1, length 4.
pub const RECORD_OVERHEAD: usize = 105;
/// Offset of the signed message within a record.
const MESSAGE_OFFSET: usize = 96;

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

fn policy_code(policy: Policy) -> u8 {
    match policy {
        Policy::Zip215 => 1,
        Policy::Strict => 2,
    }
}

/// A block header (see the [module docs](super) for its bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// How the records' Merkle root is computed.
    pub scheme: Scheme,
    /// The signature rules every record is checked under.
    pub policy: Policy,
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
    /// The header's 94 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&VERSION.to_le_bytes());
        b[6] = scheme_code(self.scheme);
        b[7] = policy_code(self.policy);
        // 8..10 reserved, zero.
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

    /// Parses the first [`HEADER_LEN`] bytes of `bytes`.
    ///
    /// # Errors
    /// A [`FormatError`] naming the offending offset.
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
        if version != VERSION {
            return Err(at(4, FormatErrorKind::UnsupportedVersion(version)));
        }
        let scheme = match bytes[6] {
            1 => Scheme::Rfc9162,
            2 => Scheme::Bitcoin,
            3 => Scheme::FiscoBcos,
            4 => Scheme::ChainMakerSm3,
            5 => Scheme::ChainMakerSha256,
            code => return Err(at(6, FormatErrorKind::UnknownScheme(code))),
        };
        let policy = match bytes[7] {
            1 => Policy::Zip215,
            2 => Policy::Strict,
            code => return Err(at(7, FormatErrorKind::UnknownPolicy(code))),
        };
        if bytes[8..10] != [0, 0] {
            return Err(at(8, FormatErrorKind::ReservedNotZero));
        }
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
        let hash_at = |o: usize| -> [u8; 32] { bytes[o..o + 32].try_into().expect("32 bytes") };
        Ok(Header {
            scheme,
            policy,
            height: u64_at(10),
            prev_hash: hash_at(18),
            merkle_root: hash_at(50),
            record_count: u32::from_le_bytes(bytes[82..86].try_into().expect("4 bytes")),
            timestamp: u64_at(86),
        })
    }
}

/// One record, borrowed from the block's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    bytes: &'a [u8],
}

impl<'a> RecordView<'a> {
    /// The record's whole encoding: what the block's Merkle tree takes as its leaf.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The issuer's signature `R ‖ S` over [`RecordView::signed_message`].
    pub fn signature(&self) -> &'a [u8; 64] {
        self.bytes[..64].try_into().expect("checked by the parser")
    }

    /// The issuer's Ed25519 public key.
    pub fn issuer(&self) -> &'a [u8; 32] {
        self.bytes[64..96]
            .try_into()
            .expect("checked by the parser")
    }

    /// The bytes the signature covers: tag `BVR1`, kind, payload length, payload.
    pub fn signed_message(&self) -> &'a [u8] {
        &self.bytes[MESSAGE_OFFSET..]
    }

    /// What the record is.
    pub fn kind(&self) -> RecordKind {
        RecordKind::from_code(self.bytes[100]).expect("checked by the parser")
    }

    /// The record's content (an invoice, a certificate, ...), opaque to the ledger.
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[RECORD_OVERHEAD..]
    }

    /// The signature item of this record, borrowed.
    pub fn sig_item(&self) -> crate::SigItem<'a> {
        crate::SigItem::new(self.issuer(), self.signature(), self.signed_message())
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

    /// Parses a whole block. Memory: one 16-byte view per record, and the record count is
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
        if (count as usize).saturating_mul(RECORD_OVERHEAD) > body {
            return Err(FormatError {
                offset: 82,
                record: None,
                kind: FormatErrorKind::Truncated {
                    what: "records (the declared count needs more bytes than the block has)",
                    needed: (count as usize).saturating_mul(RECORD_OVERHEAD),
                    available: body,
                },
            });
        }
        let mut records = Vec::with_capacity(count as usize);
        let mut at = HEADER_LEN;
        for index in 0..count {
            let (record, len) = parse_record(&bytes[at..], at, index, limits)?;
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

    /// The records, in block order.
    pub fn records(&self) -> &[RecordView<'a>] {
        &self.records
    }
}

/// One record at the start of `rest` (which starts at block offset `at`): the view and its
/// length.
fn parse_record<'a>(
    rest: &'a [u8],
    at: usize,
    index: u32,
    limits: Limits,
) -> Result<(RecordView<'a>, usize), FormatError> {
    let err = |offset: usize, kind: FormatErrorKind| FormatError {
        offset: at + offset,
        record: Some(index),
        kind,
    };
    if rest.len() < RECORD_OVERHEAD {
        return Err(err(
            rest.len(),
            FormatErrorKind::Truncated {
                what: "record",
                needed: RECORD_OVERHEAD,
                available: rest.len(),
            },
        ));
    }
    if rest[96..100] != RECORD_TAG {
        return Err(err(96, FormatErrorKind::BadRecordTag));
    }
    if RecordKind::from_code(rest[100]).is_none() {
        return Err(err(100, FormatErrorKind::UnknownKind(rest[100])));
    }
    let payload = u32::from_le_bytes(rest[101..105].try_into().expect("4 bytes"));
    if payload > limits.max_payload {
        return Err(err(
            101,
            FormatErrorKind::PayloadTooLarge {
                len: payload,
                limit: limits.max_payload,
            },
        ));
    }
    let len = RECORD_OVERHEAD + payload as usize;
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
        },
        len,
    ))
}

/// Appends one record's encoding to `out`: the bytes that `sign` signs are built in place,
/// then the signature is written in front of them.
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
    let len = u32::try_from(payload.len()).expect("payload under 4 GiB");
    let start = out.len();
    out.extend_from_slice(&[0u8; 64]);
    out.extend_from_slice(issuer);
    out.extend_from_slice(&RECORD_TAG);
    out.push(kind.code());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    let signature = sign(&out[start + MESSAGE_OFFSET..]);
    out[start..start + 64].copy_from_slice(&signature);
}

/// The signed message of a record (tag, kind, length, payload), for signers that sign
/// elsewhere.
pub fn signed_message(kind: RecordKind, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(9 + payload.len());
    m.extend_from_slice(&RECORD_TAG);
    m.push(kind.code());
    m.extend_from_slice(&(payload.len() as u32).to_le_bytes());
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
    /// An unknown signature policy code.
    UnknownPolicy(u8),
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
                    "format version {v} is not supported (this reads {VERSION})"
                )
            }
            FormatErrorKind::UnknownScheme(c) => write!(f, "unknown Merkle scheme code {c}"),
            FormatErrorKind::UnknownPolicy(c) => write!(f, "unknown signature policy code {c}"),
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
