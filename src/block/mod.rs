//! The reference ledger block format (versions 1 and 2): parse, encode, verify.
//!
//! A block is a header followed by its records. Every integer is little-endian (the SM2 key
//! and signature coordinates are big-endian 32-byte numbers, as SM2 writes them). Parsing is
//! zero-copy ([`BlockView`] borrows the caller's bytes): every length is checked against the
//! bytes that remain before it is used, errors name the byte offset and the record
//! ([`FormatError`]), and a declared record count is checked against the bytes present before
//! anything is allocated, so no input panics or allocates beyond what its bytes justify.
//!
//! The header names how the records are signed ([`SigAlgorithm`]): Ed25519 under a policy
//! (format version 1) or SM2 (format version 2). Version 2 exists for the algorithm byte;
//! everything else is the same in both.
//!
//! ## Header (94 bytes)
//!
//! | offset | bytes | version 1 (Ed25519) | version 2 (SM2) |
//! |---|---|---|---|
//! | 0 | 4 | magic `BVBK` | magic `BVBK` |
//! | 4 | 2 | format version, `1` | format version, `2` |
//! | 6 | 1 | Merkle scheme: `1` RFC 9162, `2` Bitcoin, `3` FISCO BCOS, `4` ChainMaker SM3, `5` ChainMaker SHA-256 | the same |
//! | 7 | 1 | signature policy: `1` Zip215, `2` Strict | `0` (no policy; anything else: [`FormatErrorKind::PolicyNotApplicable`]) |
//! | 8 | 1 | reserved, zero | signature algorithm: `2` SM2 (`1`, Ed25519, is [`FormatErrorKind::NonCanonicalVersion`]; others [`FormatErrorKind::UnknownAlgorithm`]) |
//! | 9 | 1 | reserved, zero | reserved, zero |
//! | 10 | 8 | height | height |
//! | 18 | 32 | previous block's hash (SHA-256 of its header; zeros for the first block) | the same |
//! | 50 | 32 | Merkle root of the records | the same |
//! | 82 | 4 | record count | record count |
//! | 86 | 8 | timestamp, seconds since the Unix epoch | the same |
//!
//! A block's hash is SHA-256 of its 94 header bytes ([`Header::hash`]); the header commits to
//! the records through the Merkle root. A version-2 header's fields are checked in offset
//! order, except the algorithm (8) before the policy byte (7), whose rule depends on it.
//!
//! **Which version is written.** A header is written in the lowest version that can state its
//! algorithm ([`SigAlgorithm::format_version`]): Ed25519 blocks stay version 1, byte for byte
//! what this format wrote before version 2 existed, and only SM2 blocks are version 2. So
//! every header has exactly one encoding: [`Header`] holds no version for a caller to get
//! wrong, a parsed header re-encodes to the bytes it came from, and [`Header::hash`] of a
//! parsed header is the hash of those bytes — which is what the next block's `prev_hash`
//! commits to, so a chain of Ed25519 blocks written before version 2 still links, and one
//! that continues it looks the same. A version-2 header naming Ed25519 would be a second
//! encoding of a version-1 header, hashing differently, and is refused. (The same rule as
//! git's index, written as version 2 unless a feature needs 3.)
//!
//! **Policy.** [`Policy`](crate::Policy) selects between Ed25519 rule sets; SM2 has one
//! (GB/T 32918.2, [`crate::sig::sm2`]), so an SM2 header's policy byte is `0` and
//! [`SigAlgorithm::Sm2`] carries none.
//!
//! ## Record, Ed25519 (105 + payload bytes)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 64 | Ed25519 signature `R ‖ S` by the issuer over bytes 96.. of the record |
//! | 64 | 32 | issuer's public key |
//! | 96 | 4 | tag `BVR1` (start of the signed message) |
//! | 100 | 1 | kind: `0` other, `1` invoice, `2` certificate, `3` evidence |
//! | 101 | 4 | payload length `n` |
//! | 105 | n | payload |
//!
//! ## Record, SM2 (137 + payload bytes)
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 64 | SM2 signature `r ‖ s` (32 bytes each, big-endian) by the issuer over `SM3(bytes 128..)` |
//! | 64 | 64 | issuer's public key `x ‖ y` (32 bytes each, big-endian; no `04` prefix) |
//! | 128 | 4 | tag `BVR1` (start of the signed message) |
//! | 132 | 1 | kind, as above |
//! | 133 | 4 | payload length `n` |
//! | 137 | n | payload |
//!
//! The signed bytes are the same as an Ed25519 record's (tag, kind, length, payload); the SM2
//! issuer signs their 32-byte SM3 hash with the default user ID `1234567812345678`, as FISCO
//! BCOS signs a transaction's hash: `e = SM3(Z_A ‖ SM3(tag ‖ kind ‖ length ‖ payload))`
//! ([`RecordView::message_sm3`], [`RecordView::sm2_item`]). That is FISCO's convention (a
//! transaction is signed by its hash, which a node computes anyway), so a FISCO-style signer
//! signs these records as they are; the verifier computes a block's hashes many records at a
//! time with the multi-buffer SM3.
//!
//! Under both algorithms the signed message is the record's own tail, so a signature item
//! borrows straight from the block (SM2: all but the 32-byte hash). The tag separates these
//! signatures from any other use of the issuer's key; the kind and length are signed with the
//! payload.
//!
//! **Leaves.** Under RFC 9162 a record's whole encoding (signature included) is its Merkle
//! leaf, so the root commits to exactly the bytes on the wire. The other schemes' leaves are
//! 32-byte ids, as on their chains: a record's leaf is the hash of its encoding, SHA-256d
//! under Bitcoin (its "txid"), SM3 under FISCO BCOS and ChainMaker SM3, SHA-256 under
//! ChainMaker SHA-256. (An SM2 record's leaf hashes its whole encoding, signature and key
//! included; the hash its issuer signs covers the tail only.) A ChainMaker tree of no leaves
//! has no root; a block of no records under a ChainMaker scheme carries 32 zero bytes in the
//! header's root field.
//!
//! **Why this shape.** Fixed offsets for everything but the payload keep parsing to a few
//! bounds checks per record; the signature first and the message last make the signed bytes
//! one contiguous slice; a per-record tag rather than a per-block one lets a record be
//! lifted out of its block (into a proof, an archive) and still verified.
#![forbid(unsafe_code)]

mod format;
mod report;
mod verify;

pub use format::{
    BlockView, DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_RECORDS, FormatError, FormatErrorKind, HEADER_LEN,
    Header, Limits, MAGIC, RECORD_OVERHEAD, RECORD_TAG, RecordKind, RecordView,
    SM2_RECORD_OVERHEAD, SigAlgorithm, VERSION, encode_record, encode_sm2_record, signed_message,
};
pub use report::{BlockError, BlockReport, ChainReport, RecordVerdict, StageTimings};
pub use verify::PendingBlock;

use rayon::prelude::*;

use crate::merkle::{self, RootReport, Scheme};

/// The Merkle leaves of `records` under `scheme`: the encodings themselves (RFC 9162), or
/// their 32-byte ids (see the module docs), hashed by the multi-buffer SHA-256 or SM3 many
/// records at a time, in parallel on the current rayon pool.
pub fn record_leaves<'a>(scheme: Scheme, records: &[&'a [u8]]) -> Leaves<'a> {
    let sha256 = merkle::sha256::Platform::detect();
    let sm3 = merkle::sm3::Platform::detect();
    let id_of_chunk = |chunk: &[&[u8]]| match scheme {
        Scheme::Bitcoin => sha256.hash_many(&sha256.hash_many(chunk)),
        Scheme::FiscoBcos | Scheme::ChainMakerSm3 => sm3.hash_many(chunk),
        _ => sha256.hash_many(chunk),
    };
    if scheme.hashes_leaves() {
        Leaves::Records(records.to_vec())
    } else {
        Leaves::Ids(
            records
                .par_chunks(1024)
                .flat_map_iter(id_of_chunk)
                .collect(),
        )
    }
}

/// The root of `records` under `scheme` (see [`record_leaves`]), on the current rayon pool.
pub fn record_root(scheme: Scheme, records: &[&[u8]]) -> RootReport {
    let computed = match record_leaves(scheme, records) {
        Leaves::Records(r) => merkle::merkle_root(scheme, &r),
        Leaves::Ids(ids) => merkle::merkle_root(scheme, &ids),
    };
    header_root(computed)
}

/// The root a block header carries for a computed root: every record list has one, but a
/// ChainMaker tree of no leaves has none and the header's field holds 32 zero bytes then.
/// (Record encodings are valid RFC 9162 leaves and ids are 32 bytes, so no other error can
/// occur.)
pub(crate) fn header_root(computed: Result<RootReport, merkle::MerkleError>) -> RootReport {
    computed.unwrap_or_else(|_| RootReport::new([0; 32], 0, None))
}

/// A block's Merkle leaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Leaves<'a> {
    /// Record encodings (RFC 9162).
    Records(Vec<&'a [u8]>),
    /// Record ids (every scheme but RFC 9162).
    Ids(Vec<[u8; 32]>),
}
