//! The C ABI of [blockverify]: one opaque verifier handle, one call per batch.
//!
//! C and C++ nodes link `libblockverify_ffi` (shared or static) and include
//! `include/blockverify.h`; Go nodes use the cgo package in `go/blockverify`. The header is
//! written by cbindgen from this crate (a test checks the committed copy is current), so the
//! documentation below is the header's.
//!
//! The shape: structure-of-arrays inputs (fixed-size keys and signatures as rows, variable
//! messages concatenated with `n + 1` offsets), one verdict byte per item (`BV_VALID` = 0, else
//! a `BV_REASON_*` code), the number of invalid items as the return value, `-1` and a
//! thread-local message (`bv_last_error`) for misuse. No panic crosses the boundary.
//!
//! Rust users link [blockverify] itself; the functions here are `pub` so that this crate's
//! tests and benchmark can call them in-process.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
// The C names (`bv_verifier`, `bv_block_summary`) are the contract.
#![allow(non_camel_case_types)]

mod codes;
mod error;
mod raw;

use std::ffi::{c_char, c_int};

use blockverify::block::BlockView;
use blockverify::{SigItem, Sm2Item, Verifier};

use crate::error::boundary;
use crate::raw::{Concatenated, Out, Regions};

/// The verifier runs on the CPU engine only.
pub const BV_BACKEND_CPU: c_int = 0;
/// Every job runs on a GPU (any adapter wgpu finds, a software one included);
/// `bv_verifier_new` fails when there is none.
pub const BV_BACKEND_GPU: c_int = 1;
/// The CPU engine, and a hardware GPU when there is one (never a software emulation): large
/// Merkle trees go to the GPU, and signature batches of 1024 items or more are split between
/// both so that they finish together.
pub const BV_BACKEND_AUTO: c_int = 2;

/// Ed25519 under ZIP 215 (ed25519-zebra's rules: cofactored equation, non-canonical point
/// encodings accepted). Batch-verified; the fast policy.
pub const BV_POLICY_ZIP215: c_int = 0;
/// Ed25519 exactly as ed25519-dalek's `verify_strict` (cofactorless, small-order keys and `R`
/// refused, `R` compared byte for byte). Verified item by item.
pub const BV_POLICY_STRICT: c_int = 1;

/// RFC 9162 (Certificate Transparency v2): leaf = SHA-256(0x00 || data), node =
/// SHA-256(0x01 || left || right); leaves of any length; no leaves = SHA-256("").
pub const BV_SCHEME_RFC9162: c_int = 0;
/// Bitcoin: 32-byte txids in internal byte order, node = SHA-256d(left || right), an odd node
/// paired with itself.
pub const BV_SCHEME_BITCOIN: c_int = 1;
/// FISCO BCOS v3 (guomi): 32-byte transaction hashes, node = SM3(left || right), an odd last
/// node hashed alone; one leaf = that leaf; no leaves = 32 zero bytes.
pub const BV_SCHEME_FISCO_BCOS: c_int = 2;
/// ChainMaker with SM3: 32-byte leaves, node = SM3(left || right), an odd node paired with
/// itself; no leaves = no root (an error).
pub const BV_SCHEME_CHAINMAKER_SM3: c_int = 3;
/// ChainMaker with SHA-256: as `BV_SCHEME_CHAINMAKER_SM3` with SHA-256.
pub const BV_SCHEME_CHAINMAKER_SHA256: c_int = 4;

/// `bv_verify_sm2_ex`: each signature is 64 bytes `r || s` (big-endian); any other length is
/// the item's `BV_REASON_SIGNATURE_MALFORMED`.
pub const BV_SM2_SIG_RAW: c_int = 0;
/// `bv_verify_sm2_ex`: each signature is strict DER, `SEQUENCE { INTEGER r, INTEGER s }`.
pub const BV_SM2_SIG_DER: c_int = 1;

/// A usage error: a NULL pointer, inconsistent offsets, an unknown backend, policy or scheme,
/// overlapping buffers (see `bv_last_error`). Nothing was written.
pub const BV_ERR_USAGE: i64 = -1;
/// `bv_verify_block` and `bv_block_record_count`: the bytes are not a well-formed block (see
/// `bv_last_error` for the offset and record). Nothing was written.
pub const BV_ERR_MALFORMED: i64 = -2;

/// The verdict byte of a valid item.
pub const BV_VALID: u8 = 0;
/// Ed25519: `S` is not a canonical scalar (`S >= L`).
pub const BV_REASON_NON_CANONICAL_S: u8 = 1;
/// The public key does not decode to a curve point (Ed25519), or is not on the curve (SM2).
pub const BV_REASON_KEY_NOT_ON_CURVE: u8 = 2;
/// Ed25519: `R` does not decode to a curve point.
pub const BV_REASON_R_NOT_ON_CURVE: u8 = 3;
/// Ed25519, strict policy: the public key has small order.
pub const BV_REASON_SMALL_ORDER_KEY: u8 = 4;
/// Ed25519, strict policy: `R` has small order.
pub const BV_REASON_SMALL_ORDER_R: u8 = 5;
/// Ed25519, strict policy: `R` is not canonically encoded.
pub const BV_REASON_NON_CANONICAL_R: u8 = 6;
/// The encodings are acceptable but the verification equation does not hold.
pub const BV_REASON_EQUATION_FAILED: u8 = 7;
/// SM2: the public key is not a point encoding (not 33, 64 or 65 bytes, a wrong prefix, or a
/// coordinate >= p).
pub const BV_REASON_KEY_MALFORMED: u8 = 8;
/// SM2: the user ID is longer than 8191 bytes.
pub const BV_REASON_ID_TOO_LONG: u8 = 9;
/// SM2: the signature is not 64 bytes `r || s`, or not strict DER.
pub const BV_REASON_SIGNATURE_MALFORMED: u8 = 10;
/// SM2: `r` is not in [1, n-1].
pub const BV_REASON_R_NOT_IN_RANGE: u8 = 11;
/// SM2: `s` is not in [1, n-1].
pub const BV_REASON_S_NOT_IN_RANGE: u8 = 12;
/// SM2: `t = (r + s) mod n` is zero.
pub const BV_REASON_T_ZERO: u8 = 13;
/// SM2: `[s]G + [t]P` is the point at infinity.
pub const BV_REASON_SUM_AT_INFINITY: u8 = 14;
/// A reason this header does not list (a newer library behind an older header). This build
/// never produces it: its tests check that every reason has a code above.
pub const BV_REASON_OTHER: u8 = 254;
/// `bv_verify_block` only: the record repeats an earlier record byte for byte (a replay); its
/// signature is valid.
pub const BV_DUPLICATE: u8 = 255;

/// A verifier: a worker pool, the key caches and, with a GPU backend, the device. Opaque;
/// made by `bv_verifier_new`, released by `bv_verifier_free`. Thread-safe: one handle may be
/// used by any number of threads at once (calls run concurrently on its pool).
pub struct bv_verifier {
    verifier: Verifier,
}

/// Bitcoin and ChainMaker trees: where `bv_merkle_root_ex` found two identical sibling nodes
/// (the CVE-2012-2459 shape: another list of leaves has the same root, so a node must reject
/// such a block).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct bv_duplicate_pair {
    /// 1 when a pair was found (the fields below say where), else 0 (and they are 0).
    pub found: u8,
    /// The tree level (0 = the leaves).
    pub level: u32,
    /// The index of the pair's left node within its level (always even).
    pub index: u64,
}

/// What `bv_verify_block` found, besides the per-record verdicts.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct bv_block_summary {
    /// The block's height (from its header).
    pub height: u64,
    /// Seconds since the Unix epoch (from its header).
    pub timestamp: u64,
    /// How many records the block holds.
    pub records: u64,
    /// Records whose signature failed.
    pub invalid: u64,
    /// Records that repeat an earlier record.
    pub duplicates: u64,
    /// The block's hash: SHA-256 of its header (the next block's `prev_hash`).
    pub block_hash: [u8; 32],
    /// The previous block's hash (from the header).
    pub prev_hash: [u8; 32],
    /// The Merkle root the header declares.
    pub header_root: [u8; 32],
    /// The Merkle root computed from the records.
    pub computed_root: [u8; 32],
    /// 1 when `computed_root` equals `header_root`, else 0.
    pub root_matches: u8,
    /// 1 when the records' tree has two identical siblings (CVE-2012-2459; Bitcoin and
    /// ChainMaker schemes), which makes the block invalid, else 0.
    pub duplicate_pair: u8,
    /// 1 when the whole block is valid: the root matches, no duplicate pair, and every record
    /// is valid and unique; else 0.
    pub valid: u8,
}

/// The verifier behind a handle.
///
/// # Safety
/// `v` is NULL or a handle from `bv_verifier_new` not yet freed.
unsafe fn verifier<'a>(v: *const bv_verifier) -> Result<&'a Verifier, String> {
    // SAFETY: the caller promises a live handle when it is not NULL; `as_ref` handles NULL.
    let handle = unsafe { v.as_ref() };
    handle
        .map(|h| &h.verifier)
        .ok_or_else(|| "the verifier handle is NULL".to_string())
}

/// The return value for a count of invalid items (at most `isize::MAX`, so it fits).
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Creates a verifier with `threads` worker threads (0 = one per core) on `backend`
/// (`BV_BACKEND_*`).
///
/// Returns NULL on error (see `bv_last_error`): an unknown backend, more than 4096 threads,
/// threads the OS refuses, or `BV_BACKEND_GPU` without a usable GPU. Free the handle with
/// `bv_verifier_free`. Building one takes milliseconds on the CPU backend and up to a few
/// seconds with a GPU (the device is opened and the Merkle kernels compiled); build one per
/// process and share it.
#[unsafe(no_mangle)]
pub extern "C" fn bv_verifier_new(threads: u32, backend: c_int) -> *mut bv_verifier {
    boundary(std::ptr::null_mut(), || {
        let backend = codes::backend(backend)?;
        let threads = usize::try_from(threads).map_err(|e| e.to_string())?;
        let verifier = Verifier::builder()
            .backend(backend)
            .threads(threads)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Box::into_raw(Box::new(bv_verifier { verifier })))
    })
}

/// Releases a verifier made by `bv_verifier_new`. NULL is ignored. No other call may be using
/// the handle, and it must not be used afterwards.
///
/// # Safety
/// `v` is NULL or a handle from `bv_verifier_new`, freed once, that no other thread uses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_verifier_free(v: *mut bv_verifier) {
    boundary((), || {
        if !v.is_null() {
            // SAFETY: `v` came from `Box::into_raw` in `bv_verifier_new` and, as the caller
            // promises, is freed once and used by nobody else now.
            drop(unsafe { Box::from_raw(v) });
        }
        Ok(())
    })
}

/// 1 when the verifier has a GPU (always with `BV_BACKEND_GPU`; with `BV_BACKEND_AUTO` when
/// a hardware GPU was found), 0 when not, -1 for a NULL handle.
///
/// # Safety
/// `v` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_verifier_has_gpu(v: *const bv_verifier) -> c_int {
    boundary(-1, || {
        // SAFETY: the caller's promise for `v`, forwarded.
        let verifier = unsafe { verifier(v) }?;
        Ok(c_int::from(verifier.has_gpu()))
    })
}

/// Verifies `n` Ed25519 signatures under `policy` (`BV_POLICY_*`).
///
/// Item `i`: public key `keys[32 i .. 32 i + 32]`, signature `sigs[64 i .. 64 i + 64]`
/// (`R || S`), message `msgs[msg_offsets[i] .. msg_offsets[i + 1]]`. `msg_offsets` holds
/// `n + 1` non-decreasing offsets, and `msgs` at least `msg_offsets[n]` bytes.
///
/// Writes `verdicts[i]`: `BV_VALID` (0) or the `BV_REASON_*` code of the first check that
/// failed. A verdict depends on its item alone (never on the batch, the backend or the thread
/// count). Returns the number of invalid items (0: all valid), or `BV_ERR_USAGE` (-1) for a
/// NULL handle, an unknown policy, a NULL pointer where `n > 0` (`msgs` may be NULL when every
/// message is empty), offsets that decrease, or `verdicts` overlapping an input; the verdicts
/// are then not written. With `n = 0` no pointer but `v` is read.
///
/// # Safety
/// The pointers point to as many bytes as described above, readable (and `verdicts`
/// writable) for the whole call, and no other thread writes them meanwhile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_verify_ed25519(
    v: *const bv_verifier,
    policy: c_int,
    n: usize,
    keys: *const u8,
    sigs: *const u8,
    msgs: *const u8,
    msg_offsets: *const usize,
    verdicts: *mut u8,
) -> i64 {
    boundary(BV_ERR_USAGE, || {
        // SAFETY: the caller's promises for each pointer, as documented above, forwarded.
        let verifier = unsafe { verifier(v) }?;
        let policy = codes::policy(policy)?;
        let mut regions = Regions::default();
        // SAFETY: as above.
        let keys = unsafe { raw::rows::<32>(&mut regions, "keys", keys, n) }?;
        // SAFETY: as above.
        let sigs = unsafe { raw::rows::<64>(&mut regions, "sigs", sigs, n) }?;
        // SAFETY: as above.
        let msgs = unsafe {
            Concatenated::new(&mut regions, "msgs", "msg_offsets", n, msgs, msg_offsets)
        }?;
        // SAFETY: as above.
        let out = unsafe { Out::new(&mut regions, "verdicts", verdicts, n) }?;
        let items: Vec<SigItem<'_>> = (0..n)
            .map(|i| SigItem::new(&keys[i], &sigs[i], msgs.get(i)))
            .collect();
        let report = verifier.verify_ed25519(policy, &items);
        let codes: Vec<u8> = report
            .verdicts()
            .iter()
            .map(|&v| codes::verdict_code(v))
            .collect();
        out.write(&codes);
        Ok(count(report.invalid_count()))
    })
}

/// Verifies `n` SM2 signatures (GB/T 32918.2) with raw keys and signatures.
///
/// Item `i`: public key `keys[64 i .. 64 i + 64]` (`x || y`, big-endian), signature
/// `sigs[64 i .. 64 i + 64]` (`r || s`, big-endian), message
/// `msgs[msg_offsets[i] .. msg_offsets[i + 1]]`, and user ID
/// `ids[id_offsets[i] .. id_offsets[i + 1]]` — or, with `ids` and `id_offsets` both NULL, the
/// default ID `"1234567812345678"` (what FISCO BCOS signs with). An empty ID is the empty ID.
/// `e = SM3(Z_A || message)` is computed here.
///
/// Verdicts, return value and errors as `bv_verify_ed25519` (no policy); also `BV_ERR_USAGE`
/// for `ids` given without `id_offsets`. `ids` may be NULL when `id_offsets` is given and every
/// ID is empty.
///
/// # Safety
/// As `bv_verify_ed25519`, with `id_offsets` (when non-NULL) holding `n + 1` offsets and `ids`
/// at least `id_offsets[n]` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_verify_sm2(
    v: *const bv_verifier,
    n: usize,
    keys: *const u8,
    sigs: *const u8,
    msgs: *const u8,
    msg_offsets: *const usize,
    ids: *const u8,
    id_offsets: *const usize,
    verdicts: *mut u8,
) -> i64 {
    boundary(BV_ERR_USAGE, || {
        // SAFETY: the caller's promises for each pointer, as documented above, forwarded.
        let verifier = unsafe { verifier(v) }?;
        let mut regions = Regions::default();
        // SAFETY: as above.
        let keys = unsafe { raw::rows::<64>(&mut regions, "keys", keys, n) }?;
        // SAFETY: as above.
        let sigs = unsafe { raw::rows::<64>(&mut regions, "sigs", sigs, n) }?;
        // SAFETY: as above.
        let msgs = unsafe {
            Concatenated::new(&mut regions, "msgs", "msg_offsets", n, msgs, msg_offsets)
        }?;
        // SAFETY: as above.
        let ids = unsafe { user_ids(&mut regions, n, ids, id_offsets) }?;
        // SAFETY: as above.
        let out = unsafe { Out::new(&mut regions, "verdicts", verdicts, n) }?;
        let items: Vec<Sm2Item<'_>> = (0..n)
            .map(|i| with_id(Sm2Item::new(&keys[i], &sigs[i], msgs.get(i)), &ids, i))
            .collect();
        Ok(sm2_report(verifier, &items, out))
    })
}

/// Verifies `n` SM2 signatures with keys and signatures in any encoding.
///
/// Item `i`: public key `keys[key_offsets[i] .. key_offsets[i + 1]]` — 64 bytes `x || y`, 65
/// bytes `04 || x || y`, or 33 bytes `02/03 || x` (compressed); any other length is the item's
/// `BV_REASON_KEY_MALFORMED` — signature `sigs[sig_offsets[i] .. sig_offsets[i + 1]]` in
/// `sig_format` (`BV_SM2_SIG_RAW`: 64 bytes `r || s`; `BV_SM2_SIG_DER`: strict DER, as
/// ChainMaker, BSN and Hyperchain carry them), message and user ID as in `bv_verify_sm2`.
///
/// Verdicts, return value and errors as `bv_verify_sm2`; also `BV_ERR_USAGE` for an unknown
/// `sig_format`.
///
/// # Safety
/// As `bv_verify_sm2`, with `key_offsets` and `sig_offsets` holding `n + 1` offsets each and
/// `keys` and `sigs` at least `key_offsets[n]` and `sig_offsets[n]` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_verify_sm2_ex(
    v: *const bv_verifier,
    n: usize,
    keys: *const u8,
    key_offsets: *const usize,
    sigs: *const u8,
    sig_offsets: *const usize,
    sig_format: c_int,
    msgs: *const u8,
    msg_offsets: *const usize,
    ids: *const u8,
    id_offsets: *const usize,
    verdicts: *mut u8,
) -> i64 {
    boundary(BV_ERR_USAGE, || {
        // SAFETY: the caller's promises for each pointer, as documented above, forwarded.
        let verifier = unsafe { verifier(v) }?;
        let der = match sig_format {
            BV_SM2_SIG_RAW => false,
            BV_SM2_SIG_DER => true,
            other => {
                return Err(format!(
                    "unknown sig_format {other} (expected BV_SM2_SIG_RAW 0 or BV_SM2_SIG_DER 1)"
                ));
            }
        };
        let mut regions = Regions::default();
        // SAFETY: as above.
        let keys = unsafe {
            Concatenated::new(&mut regions, "keys", "key_offsets", n, keys, key_offsets)
        }?;
        // SAFETY: as above.
        let sigs = unsafe {
            Concatenated::new(&mut regions, "sigs", "sig_offsets", n, sigs, sig_offsets)
        }?;
        // SAFETY: as above.
        let msgs = unsafe {
            Concatenated::new(&mut regions, "msgs", "msg_offsets", n, msgs, msg_offsets)
        }?;
        // SAFETY: as above.
        let ids = unsafe { user_ids(&mut regions, n, ids, id_offsets) }?;
        // SAFETY: as above.
        let out = unsafe { Out::new(&mut regions, "verdicts", verdicts, n) }?;
        let items: Vec<Sm2Item<'_>> = (0..n)
            .map(|i| {
                let (key, sig, msg) = (keys.get(i), sigs.get(i), msgs.get(i));
                let item = if der {
                    Sm2Item::der(key, sig, msg)
                } else {
                    match <&[u8; 64]>::try_from(sig) {
                        Ok(rs) => Sm2Item::new(key, rs, msg),
                        // Not 64 bytes, so not `r || s`: an empty DER signature fails the
                        // strict parse and gets `SignatureMalformed` in the library's check
                        // order (the key's and the ID's checks first), which is this item's
                        // verdict. (Passing `sig` itself as DER would accept valid DER given
                        // as "raw".)
                        Err(_) => Sm2Item::der(key, &[], msg),
                    }
                };
                with_id(item, &ids, i)
            })
            .collect();
        Ok(sm2_report(verifier, &items, out))
    })
}

/// The IDs of an SM2 call: `None` for the default ID (both pointers NULL).
///
/// # Safety
/// As `Concatenated::new` when `id_offsets` is non-NULL.
unsafe fn user_ids<'a>(
    regions: &mut Regions,
    n: usize,
    ids: *const u8,
    id_offsets: *const usize,
) -> Result<Option<Concatenated<'a>>, String> {
    if id_offsets.is_null() {
        if !ids.is_null() {
            return Err(
                "ids is given but id_offsets is NULL (pass both, or both NULL for \
                        the default ID)"
                    .to_string(),
            );
        }
        return Ok(None);
    }
    // SAFETY: the caller's promise for `ids` and `id_offsets`, forwarded.
    unsafe { Concatenated::new(regions, "ids", "id_offsets", n, ids, id_offsets) }.map(Some)
}

fn with_id<'a>(item: Sm2Item<'a>, ids: &Option<Concatenated<'a>>, i: usize) -> Sm2Item<'a> {
    match ids {
        Some(ids) => item.with_id(ids.get(i)),
        None => item,
    }
}

fn sm2_report(verifier: &Verifier, items: &[Sm2Item<'_>], out: Out<u8>) -> i64 {
    let report = verifier.verify_sm2(items);
    let codes: Vec<u8> = report
        .verdicts()
        .iter()
        .map(|&v| codes::verdict_code(v))
        .collect();
    out.write(&codes);
    count(report.invalid_count())
}

/// Computes the Merkle root of `n` leaves under `scheme` (`BV_SCHEME_*`) into `root`
/// (32 bytes; Bitcoin's in internal byte order, as block explorers print it reversed).
///
/// Leaf `i` is `leaves[leaf_offsets[i] .. leaf_offsets[i + 1]]` (`n + 1` offsets; both
/// pointers may be NULL when `n = 0`). RFC 9162 leaves are any bytes (hashed with the 0x00
/// prefix here); every other scheme's leaves are 32-byte hashes.
///
/// Returns 0, or -1 (see `bv_last_error`; `root` not written) for a NULL handle or `root`, an
/// unknown scheme, NULL pointers where `n > 0`, decreasing offsets, a leaf that is not 32
/// bytes under a scheme of 32-byte leaves, `n = 0` under a ChainMaker scheme (ChainMaker
/// defines no root for no leaves), or `root` overlapping an input. Bitcoin and ChainMaker
/// callers should use `bv_merkle_root_ex`, which also reports duplicate sibling pairs.
///
/// # Safety
/// `leaf_offsets` (when `n > 0`) holds `n + 1` offsets and `leaves` at least
/// `leaf_offsets[n]` bytes, readable for the call; `root` is 32 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_merkle_root(
    v: *const bv_verifier,
    scheme: c_int,
    n: usize,
    leaves: *const u8,
    leaf_offsets: *const usize,
    root: *mut u8,
) -> c_int {
    // SAFETY: the caller's promises, forwarded; no duplicate-pair output.
    unsafe {
        bv_merkle_root_ex(
            v,
            scheme,
            n,
            leaves,
            leaf_offsets,
            root,
            std::ptr::null_mut(),
        )
    }
}

/// `bv_merkle_root`, and where the tree has two identical siblings (Bitcoin and ChainMaker:
/// the CVE-2012-2459 shape, which makes a block invalid even though its root matches):
/// `duplicate` (may be NULL) receives the first such pair (lowest level, then lowest index),
/// or `found = 0`. Always `found = 0` under RFC 9162 and FISCO BCOS.
///
/// Returns and errors as `bv_merkle_root`.
///
/// # Safety
/// As `bv_merkle_root`; `duplicate` is NULL or a writable `bv_duplicate_pair`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_merkle_root_ex(
    v: *const bv_verifier,
    scheme: c_int,
    n: usize,
    leaves: *const u8,
    leaf_offsets: *const usize,
    root: *mut u8,
    duplicate: *mut bv_duplicate_pair,
) -> c_int {
    boundary(-1, || {
        // SAFETY: the caller's promises for each pointer, as documented above, forwarded.
        let verifier = unsafe { verifier(v) }?;
        let scheme = codes::scheme(scheme)?;
        let mut regions = Regions::default();
        // SAFETY: as above.
        let leaves = unsafe {
            Concatenated::new(
                &mut regions,
                "leaves",
                "leaf_offsets",
                n,
                leaves,
                leaf_offsets,
            )
        }?;
        // SAFETY: as above (`root` is 32 writable bytes).
        let root = unsafe { Out::new(&mut regions, "root", root, 32) }?;
        let duplicate = if duplicate.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { Out::new(&mut regions, "duplicate", duplicate, 1) }?)
        };
        let slices: Vec<&[u8]> = (0..n).map(|i| leaves.get(i)).collect();
        let report = verifier
            .merkle_root(scheme, &slices)
            .map_err(|e| e.to_string())?;
        root.write(&report.root());
        if let Some(out) = duplicate {
            let pair = report
                .duplicate_pair()
                .map_or(bv_duplicate_pair::default(), |p| bv_duplicate_pair {
                    found: 1,
                    level: p.level,
                    index: p.index,
                });
            out.write(&[pair]);
        }
        Ok(0)
    })
}

/// The number of records a block (the library's reference block format) declares in its
/// header, to size the verdicts of `bv_verify_block`. Reads the 94-byte header only.
///
/// Returns the count, `BV_ERR_USAGE` for a NULL `block` with `len > 0`, or `BV_ERR_MALFORMED`
/// when the header is not well-formed.
///
/// # Safety
/// `block` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_block_record_count(block: *const u8, len: usize) -> i64 {
    boundary(BV_ERR_USAGE, || {
        let mut regions = Regions::default();
        // SAFETY: the caller's promise for `block`, forwarded.
        let bytes = unsafe { raw::slice(&mut regions, "block", block, len) }?;
        match blockverify::block::Header::parse(bytes) {
            Ok(header) => Ok(i64::from(header.record_count)),
            Err(e) => {
                error::set_last_error(&format!("malformed block: {e}"));
                Ok(BV_ERR_MALFORMED)
            }
        }
    })
}

/// Verifies a whole block in the library's reference block format (`blockverify::block`):
/// every record's signature under the algorithm (Ed25519 with its policy, or SM2) its header
/// declares, the records' Merkle root against the header's, and that no record repeats an earlier one — the stages running at once.
///
/// `verdicts` receives one byte per record: `BV_VALID`, a `BV_REASON_*` code, or
/// `BV_DUPLICATE`. `verdicts_len` = 0 asks for no verdicts (`verdicts` may then be NULL);
/// otherwise it must be at least the block's record count (`bv_block_record_count`), and
/// only the first record-count bytes are written. `summary` (required) receives the header's
/// fields, the roots and the counts.
///
/// Returns the number of records that are not valid (invalid or duplicate; a block can still
/// be invalid with 0, by its root: see `summary->valid`), `BV_ERR_MALFORMED` (-2) when the
/// bytes are not a well-formed block, or `BV_ERR_USAGE` (-1) for a NULL handle, `block` or
/// `summary`, a `verdicts` shorter than the record count, or overlapping buffers. On an error
/// nothing is written.
///
/// # Safety
/// `block` points to `len` readable bytes, `verdicts` to `verdicts_len` writable bytes,
/// `summary` to a writable `bv_block_summary`, for the whole call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bv_verify_block(
    v: *const bv_verifier,
    block: *const u8,
    len: usize,
    verdicts: *mut u8,
    verdicts_len: usize,
    summary: *mut bv_block_summary,
) -> i64 {
    boundary(BV_ERR_USAGE, || {
        // SAFETY: the caller's promises for each pointer, as documented above, forwarded.
        let verifier = unsafe { verifier(v) }?;
        let mut regions = Regions::default();
        if block.is_null() {
            return Err("block is NULL".to_string());
        }
        // SAFETY: as above.
        let bytes = unsafe { raw::slice(&mut regions, "block", block, len) }?;
        if summary.is_null() {
            return Err("summary is NULL".to_string());
        }
        // SAFETY: as above.
        let summary = unsafe { Out::new(&mut regions, "summary", summary, 1) }?;
        let view = match BlockView::parse(bytes) {
            Ok(view) => view,
            Err(e) => {
                error::set_last_error(&format!("malformed block: {e}"));
                return Ok(BV_ERR_MALFORMED);
            }
        };
        let records = view.records().len();
        let out = if verdicts_len == 0 {
            None
        } else if verdicts_len < records {
            return Err(format!(
                "verdicts holds {verdicts_len} bytes but the block has {records} records"
            ));
        } else {
            // SAFETY: as above (`verdicts_len >= records` writable bytes).
            Some(unsafe { Out::new(&mut regions, "verdicts", verdicts, records) }?)
        };
        let report = verifier
            .verify_block(&view)
            .map_err(|e| format!("block not verifiable: {e}"))?;
        if let Some(out) = out {
            let codes: Vec<u8> = report
                .verdicts()
                .iter()
                .map(|&v| codes::record_code(v))
                .collect();
            out.write(&codes);
        }
        let header = report.header();
        summary.write(&[bv_block_summary {
            height: header.height,
            timestamp: header.timestamp,
            records: records as u64,
            invalid: report.invalid_count() as u64,
            duplicates: report.duplicate_count() as u64,
            block_hash: report.block_hash(),
            prev_hash: header.prev_hash,
            header_root: header.merkle_root,
            computed_root: report.computed_root(),
            root_matches: u8::from(report.root_matches()),
            duplicate_pair: u8::from(report.duplicate_pair().is_some()),
            valid: u8::from(report.is_valid()),
        }]);
        Ok(count(report.bad_records().len()))
    })
}

/// The name of a verdict code: `"non_canonical_s"`, `"equation_failed"`, … (the library's
/// stable reason codes, as its CLI and serde write them), `"duplicate"` for `BV_DUPLICATE`;
/// NULL for `BV_VALID` (0) and for codes no reason has. The string is static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn bv_reason_name(code: u8) -> *const c_char {
    boundary(std::ptr::null(), || {
        Ok(codes::reason_name(code).map_or(std::ptr::null(), |name| name.as_ptr()))
    })
}

/// This thread's last error message (UTF-8), or `""` when no call on this thread has failed.
/// Never NULL. The string belongs to the library: it stays valid until the next failing call
/// on this thread (or the thread's exit); copy it to keep it. Successful calls leave it as it
/// was, so check return values first.
#[unsafe(no_mangle)]
pub extern "C" fn bv_last_error() -> *const c_char {
    boundary(c"".as_ptr(), || Ok(error::last_error()))
}

/// The library's version, e.g. `"0.1.0"` (static: never free it).
#[unsafe(no_mangle)]
pub extern "C" fn bv_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        // Evaluated at compile time: a version with a NUL inside would not build.
        Err(_) => panic!("the version has no NUL"),
    };
    boundary(std::ptr::null(), || Ok(VERSION.as_ptr()))
}
