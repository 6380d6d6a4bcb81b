// Package blockverify verifies Ed25519 and SM2 signatures, Merkle roots and whole blocks of
// signed ledger records with the blockverify engine (Rust), through its C ABI: one cgo call
// per batch, so cgo's fixed cost (tens of nanoseconds) is paid once per block, not per
// record.
//
// Verdicts are exact and deterministic: an item's verdict depends on its bytes alone, never
// on the batch, the backend or the thread count, and an invalid verdict names the first check
// that failed (see Verdict).
//
// # Building
//
// The package links the static library libblockverify_ffi.a. Build it first, from the
// repository root:
//
//	cargo build --release -p blockverify-ffi
//
// By default the package looks in the repository's target/release. With another cargo
// target directory, point the linker at it:
//
//	CGO_LDFLAGS="-L$CARGO_TARGET_DIR/release" go test ./...
//
// # Threads
//
// A Verifier may be used from any number of goroutines at once; its calls run concurrently
// on the verifier's own worker pool (native threads, outside Go's scheduler). Close waits for
// calls in flight.
package blockverify

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../../target/release -l:libblockverify_ffi.a -lpthread -ldl -lm -Wl,-z,noexecstack
#include <stdio.h>
#include "blockverify.h"

// Each wrapper makes the call and, on failure, copies the thread-local message in the same
// C call: a goroutine may run on another OS thread by the time Go could ask for it.
static void bvgo_error(char *err, size_t err_len) {
	snprintf(err, err_len, "%s", bv_last_error());
}

static bv_verifier *bvgo_new(uint32_t threads, int backend, char *err, size_t err_len) {
	bv_verifier *v = bv_verifier_new(threads, backend);
	if (v == NULL) bvgo_error(err, err_len);
	return v;
}

static int64_t bvgo_ed25519(const bv_verifier *v, int policy, size_t n, const uint8_t *keys,
		const uint8_t *sigs, const uint8_t *msgs, const size_t *msg_offsets, uint8_t *verdicts,
		char *err, size_t err_len) {
	int64_t rc = bv_verify_ed25519(v, policy, n, keys, sigs, msgs, msg_offsets, verdicts);
	if (rc < 0) bvgo_error(err, err_len);
	return rc;
}

static int64_t bvgo_sm2(const bv_verifier *v, size_t n, const uint8_t *keys,
		const uint8_t *sigs, const uint8_t *msgs, const size_t *msg_offsets, const uint8_t *ids,
		const size_t *id_offsets, uint8_t *verdicts, char *err, size_t err_len) {
	int64_t rc = bv_verify_sm2(v, n, keys, sigs, msgs, msg_offsets, ids, id_offsets, verdicts);
	if (rc < 0) bvgo_error(err, err_len);
	return rc;
}

static int64_t bvgo_sm2_ex(const bv_verifier *v, size_t n, const uint8_t *keys,
		const size_t *key_offsets, const uint8_t *sigs, const size_t *sig_offsets,
		int sig_format, const uint8_t *msgs, const size_t *msg_offsets, const uint8_t *ids,
		const size_t *id_offsets, uint8_t *verdicts, char *err, size_t err_len) {
	int64_t rc = bv_verify_sm2_ex(v, n, keys, key_offsets, sigs, sig_offsets, sig_format, msgs,
		msg_offsets, ids, id_offsets, verdicts);
	if (rc < 0) bvgo_error(err, err_len);
	return rc;
}

static int bvgo_merkle(const bv_verifier *v, int scheme, size_t n, const uint8_t *leaves,
		const size_t *leaf_offsets, uint8_t *root, bv_duplicate_pair *pair, char *err,
		size_t err_len) {
	int rc = bv_merkle_root_ex(v, scheme, n, leaves, leaf_offsets, root, pair);
	if (rc < 0) bvgo_error(err, err_len);
	return rc;
}

static int64_t bvgo_block(const bv_verifier *v, const uint8_t *block, size_t len,
		uint8_t *verdicts, size_t verdicts_len, bv_block_summary *summary, char *err,
		size_t err_len) {
	int64_t rc = bv_verify_block(v, block, len, verdicts, verdicts_len, summary);
	if (rc < 0) bvgo_error(err, err_len);
	return rc;
}

static int64_t bvgo_block_records(const uint8_t *block, size_t len, char *err,
		size_t err_len) {
	int64_t rc = bv_block_record_count(block, len);
	if (rc < 0) bvgo_error(err, err_len);
	return rc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Backend says where a Verifier may run its work.
type Backend int

const (
	// CPU runs everything on the CPU engine.
	CPU Backend = C.BV_BACKEND_CPU
	// GPU runs every job on a GPU (any adapter, a software one included); New fails
	// without one.
	GPU Backend = C.BV_BACKEND_GPU
	// Auto uses the CPU engine and a hardware GPU when there is one.
	Auto Backend = C.BV_BACKEND_AUTO
)

// Policy is an Ed25519 rule set.
type Policy int

const (
	// ZIP215 is ed25519-zebra's rule set: cofactored equation, non-canonical point
	// encodings accepted. Batch-verified; the fast policy.
	ZIP215 Policy = C.BV_POLICY_ZIP215
	// Strict is exactly ed25519-dalek's verify_strict: cofactorless, small-order keys and R
	// refused, R compared byte for byte.
	Strict Policy = C.BV_POLICY_STRICT
)

// Scheme is a Merkle tree construction.
type Scheme int

const (
	// RFC9162 is Certificate Transparency v2: leaf = SHA-256(0x00 || data), node =
	// SHA-256(0x01 || left || right); leaves of any length.
	RFC9162 Scheme = C.BV_SCHEME_RFC9162
	// Bitcoin: 32-byte txids in internal byte order, node = SHA-256d(left || right), an odd
	// node paired with itself.
	Bitcoin Scheme = C.BV_SCHEME_BITCOIN
	// FiscoBcos is FISCO BCOS v3 (guomi): 32-byte hashes, node = SM3(left || right), an odd
	// last node hashed alone; no leaves = 32 zero bytes.
	FiscoBcos Scheme = C.BV_SCHEME_FISCO_BCOS
	// ChainMakerSM3: 32-byte leaves, node = SM3(left || right), an odd node paired with
	// itself; no leaves = no root (an error).
	ChainMakerSM3 Scheme = C.BV_SCHEME_CHAINMAKER_SM3
	// ChainMakerSHA256 is ChainMakerSM3 with SHA-256.
	ChainMakerSHA256 Scheme = C.BV_SCHEME_CHAINMAKER_SHA256
)

// SigFormat is how VerifySM2Ex's signatures are encoded.
type SigFormat int

const (
	// SigRaw is 64 bytes r || s, big-endian (another length is the item's
	// SignatureMalformed).
	SigRaw SigFormat = C.BV_SM2_SIG_RAW
	// SigDER is strict DER, SEQUENCE { INTEGER r, INTEGER s } (ChainMaker, BSN, Hyperchain).
	SigDER SigFormat = C.BV_SM2_SIG_DER
)

// DefaultID is the SM2 user ID signers use when none is agreed (FISCO BCOS signs with it).
const DefaultID = "1234567812345678"

// Verdict is one item's result: Valid, or the reason code of the first check that failed.
// The codes are the C ABI's (BV_REASON_* in blockverify.h) and never change.
type Verdict uint8

// The verdicts. Ed25519 uses NonCanonicalS through EquationFailed; SM2 uses KeyNotOnCurve,
// EquationFailed and KeyMalformed through SumAtInfinity; Duplicate appears only in blocks.
const (
	Valid              Verdict = C.BV_VALID
	NonCanonicalS      Verdict = C.BV_REASON_NON_CANONICAL_S
	KeyNotOnCurve      Verdict = C.BV_REASON_KEY_NOT_ON_CURVE
	RNotOnCurve        Verdict = C.BV_REASON_R_NOT_ON_CURVE
	SmallOrderKey      Verdict = C.BV_REASON_SMALL_ORDER_KEY
	SmallOrderR        Verdict = C.BV_REASON_SMALL_ORDER_R
	NonCanonicalR      Verdict = C.BV_REASON_NON_CANONICAL_R
	EquationFailed     Verdict = C.BV_REASON_EQUATION_FAILED
	KeyMalformed       Verdict = C.BV_REASON_KEY_MALFORMED
	IDTooLong          Verdict = C.BV_REASON_ID_TOO_LONG
	SignatureMalformed Verdict = C.BV_REASON_SIGNATURE_MALFORMED
	RNotInRange        Verdict = C.BV_REASON_R_NOT_IN_RANGE
	SNotInRange        Verdict = C.BV_REASON_S_NOT_IN_RANGE
	TZero              Verdict = C.BV_REASON_T_ZERO
	SumAtInfinity      Verdict = C.BV_REASON_SUM_AT_INFINITY
	Duplicate          Verdict = C.BV_DUPLICATE
)

// IsValid reports whether the verdict is Valid.
func (v Verdict) IsValid() bool { return v == Valid }

// String is "valid" or the reason's stable name ("equation_failed", "key_malformed", ...), as
// the library's CLI and serde write it.
func (v Verdict) String() string {
	if v == Valid {
		return "valid"
	}
	name := C.bv_reason_name(C.uint8_t(v))
	if name == nil {
		return fmt.Sprintf("reason(%d)", uint8(v))
	}
	return C.GoString(name)
}

// ErrUsage is what every usage error wraps (a length mismatch, an unknown scheme, a Bitcoin
// leaf that is not 32 bytes, ...): test with errors.Is.
var ErrUsage = errors.New("blockverify: usage error")

// ErrMalformed is what VerifyBlock's error wraps when the bytes are not a well-formed block.
var ErrMalformed = errors.New("blockverify: malformed block")

// ErrClosed is returned by calls on a closed Verifier.
var ErrClosed = errors.New("blockverify: verifier is closed")

// Error is a failed call: the operation and the library's message. It wraps ErrUsage or
// ErrMalformed.
type Error struct {
	Op      string
	Message string
	kind    error
}

func (e *Error) Error() string { return "blockverify: " + e.Op + ": " + e.Message }

// Unwrap gives ErrUsage or ErrMalformed.
func (e *Error) Unwrap() error { return e.kind }

func usage(op, format string, args ...interface{}) error {
	return &Error{Op: op, Message: fmt.Sprintf(format, args...), kind: ErrUsage}
}

// errBuf receives the library's message; longer messages are cut.
type errBuf [512]C.char

func (b *errBuf) ptr() (*C.char, C.size_t) { return &b[0], C.size_t(len(b)) }

func (b *errBuf) err(op string, rc int64) error {
	kind := ErrUsage
	if rc == int64(C.BV_ERR_MALFORMED) {
		kind = ErrMalformed
	}
	return &Error{Op: op, Message: C.GoString(&b[0]), kind: kind}
}

// Verifier is a handle on the engine: a worker pool, key caches and, with a GPU backend, the
// device. Build one per process and share it.
type Verifier struct {
	mu sync.RWMutex
	h  *C.bv_verifier
}

// New builds a Verifier with threads workers (0 = one per core) on backend. It fails for an
// unknown backend, more than 4096 threads, or GPU without a usable GPU.
func New(threads int, backend Backend) (*Verifier, error) {
	if threads < 0 || uint64(threads) > math.MaxUint32 {
		return nil, usage("New", "threads = %d is out of range", threads)
	}
	var e errBuf
	p, l := e.ptr()
	h := C.bvgo_new(C.uint32_t(threads), C.int(backend), p, l)
	if h == nil {
		return nil, e.err("New", -1)
	}
	v := &Verifier{h: h}
	runtime.SetFinalizer(v, (*Verifier).Close)
	return v, nil
}

var (
	defaultOnce     sync.Once
	defaultVerifier *Verifier
	defaultErr      error
)

// Default is the package's shared Verifier (Auto backend, a worker per core), built on first
// use; the package-level functions use it.
func Default() (*Verifier, error) {
	defaultOnce.Do(func() { defaultVerifier, defaultErr = New(0, Auto) })
	return defaultVerifier, defaultErr
}

// Close releases the verifier after the calls in flight have returned. Later calls return
// ErrClosed; closing twice is harmless.
func (v *Verifier) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.h != nil {
		C.bv_verifier_free(v.h)
		v.h = nil
	}
	return nil
}

// HasGPU reports whether the verifier uses a GPU.
func (v *Verifier) HasGPU() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.h != nil && C.bv_verifier_has_gpu(v.h) == 1
}

// handle returns the C handle under the read lock (the caller unlocks).
func (v *Verifier) handle() (*C.bv_verifier, error) {
	v.mu.RLock()
	if v.h == nil {
		v.mu.RUnlock()
		return nil, ErrClosed
	}
	return v.h, nil
}

// concat flattens items into one buffer and n + 1 offsets, the ABI's layout.
func concat(items [][]byte) ([]byte, []C.size_t) {
	total := 0
	for _, it := range items {
		total += len(it)
	}
	buf := make([]byte, 0, total)
	offsets := make([]C.size_t, 1, len(items)+1)
	for _, it := range items {
		buf = append(buf, it...)
		offsets = append(offsets, C.size_t(len(buf)))
	}
	return buf, offsets
}

func bytePtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

func offsetPtr(o []C.size_t) *C.size_t {
	if len(o) == 0 {
		return nil
	}
	return &o[0]
}

func verdictPtr(v []Verdict) *C.uint8_t {
	if len(v) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&v[0]))
}

// VerifyEd25519 verifies keys[i]'s signature sigs[i] over msgs[i] under policy, for every i,
// in one call, and returns one verdict per item. The error is for misuse only (slices of
// different lengths, an unknown policy); an invalid signature is a verdict.
func (v *Verifier) VerifyEd25519(keys [][32]byte, sigs [][64]byte, msgs [][]byte, policy Policy) ([]Verdict, error) {
	n := len(keys)
	if len(sigs) != n || len(msgs) != n {
		return nil, usage("VerifyEd25519", "%d keys, %d signatures and %d messages", n, len(sigs), len(msgs))
	}
	h, err := v.handle()
	if err != nil {
		return nil, err
	}
	defer v.mu.RUnlock()
	buf, offsets := concat(msgs)
	verdicts := make([]Verdict, n)
	var keyPtr, sigPtr *C.uint8_t
	if n > 0 {
		keyPtr = (*C.uint8_t)(unsafe.Pointer(&keys[0][0]))
		sigPtr = (*C.uint8_t)(unsafe.Pointer(&sigs[0][0]))
	}
	var e errBuf
	p, l := e.ptr()
	rc := int64(C.bvgo_ed25519(h, C.int(policy), C.size_t(n), keyPtr, sigPtr, bytePtr(buf),
		offsetPtr(offsets), verdictPtr(verdicts), p, l))
	if rc < 0 {
		return nil, e.err("VerifyEd25519", rc)
	}
	return verdicts, nil
}

// idColumn flattens the IDs: nil for the default ID, else one per item.
func idColumn(op string, ids [][]byte, n int) ([]byte, []C.size_t, error) {
	if ids == nil {
		return nil, nil, nil
	}
	if len(ids) != n {
		return nil, nil, usage(op, "%d IDs for %d items (pass nil for the default ID)", len(ids), n)
	}
	buf, offsets := concat(ids)
	return buf, offsets, nil
}

// VerifySM2 verifies SM2 signatures (GB/T 32918.2) with raw keys (x || y) and raw signatures
// (r || s): keys[i]'s signature sigs[i] over msgs[i] by user ID ids[i]. A nil ids means
// DefaultID for every item; otherwise each ids[i] is that item's ID (empty = the empty ID).
func (v *Verifier) VerifySM2(keys [][64]byte, sigs [][64]byte, msgs [][]byte, ids [][]byte) ([]Verdict, error) {
	n := len(keys)
	if len(sigs) != n || len(msgs) != n {
		return nil, usage("VerifySM2", "%d keys, %d signatures and %d messages", n, len(sigs), len(msgs))
	}
	idBuf, idOffsets, err := idColumn("VerifySM2", ids, n)
	if err != nil {
		return nil, err
	}
	h, err := v.handle()
	if err != nil {
		return nil, err
	}
	defer v.mu.RUnlock()
	buf, offsets := concat(msgs)
	verdicts := make([]Verdict, n)
	var keyPtr, sigPtr *C.uint8_t
	if n > 0 {
		keyPtr = (*C.uint8_t)(unsafe.Pointer(&keys[0][0]))
		sigPtr = (*C.uint8_t)(unsafe.Pointer(&sigs[0][0]))
	}
	// Given IDs (n + 1 offsets) are passed even when every ID is empty, which is not the
	// default ID.
	var idOffPtr *C.size_t
	if ids != nil && n > 0 {
		idOffPtr = &idOffsets[0]
	}
	var e errBuf
	p, l := e.ptr()
	rc := int64(C.bvgo_sm2(h, C.size_t(n), keyPtr, sigPtr, bytePtr(buf), offsetPtr(offsets),
		bytePtr(idBuf), idOffPtr, verdictPtr(verdicts), p, l))
	if rc < 0 {
		return nil, e.err("VerifySM2", rc)
	}
	return verdicts, nil
}

// VerifySM2Ex verifies SM2 signatures with keys in any encoding (64 bytes x || y, 65 bytes
// 04 || x || y, 33 bytes compressed) and signatures in format (SigRaw or SigDER); msgs and ids
// as in VerifySM2.
func (v *Verifier) VerifySM2Ex(keys [][]byte, sigs [][]byte, format SigFormat, msgs [][]byte, ids [][]byte) ([]Verdict, error) {
	n := len(keys)
	if len(sigs) != n || len(msgs) != n {
		return nil, usage("VerifySM2Ex", "%d keys, %d signatures and %d messages", n, len(sigs), len(msgs))
	}
	idBuf, idOffsets, err := idColumn("VerifySM2Ex", ids, n)
	if err != nil {
		return nil, err
	}
	h, err := v.handle()
	if err != nil {
		return nil, err
	}
	defer v.mu.RUnlock()
	keyBuf, keyOffsets := concat(keys)
	sigBuf, sigOffsets := concat(sigs)
	buf, offsets := concat(msgs)
	verdicts := make([]Verdict, n)
	var idOffPtr *C.size_t
	if ids != nil && n > 0 {
		idOffPtr = &idOffsets[0]
	}
	var e errBuf
	p, l := e.ptr()
	rc := int64(C.bvgo_sm2_ex(h, C.size_t(n), bytePtr(keyBuf), offsetPtr(keyOffsets),
		bytePtr(sigBuf), offsetPtr(sigOffsets), C.int(format), bytePtr(buf), offsetPtr(offsets),
		bytePtr(idBuf), idOffPtr, verdictPtr(verdicts), p, l))
	if rc < 0 {
		return nil, e.err("VerifySM2Ex", rc)
	}
	return verdicts, nil
}

// DuplicatePair locates two identical sibling nodes in a Bitcoin or ChainMaker tree (the
// CVE-2012-2459 shape: a node must reject such a block even though its root matches).
type DuplicatePair struct {
	Found bool
	Level uint32 // 0 = the leaves
	Index uint64 // the left node's index within its level
}

// MerkleRoot computes the root of leaves under scheme. Errors: an unknown scheme, a leaf that
// is not 32 bytes under a scheme of 32-byte leaves, no leaves under a ChainMaker scheme.
func (v *Verifier) MerkleRoot(scheme Scheme, leaves [][]byte) ([32]byte, error) {
	root, _, err := v.MerkleRootEx(scheme, leaves)
	return root, err
}

// MerkleRootEx is MerkleRoot that also reports the first duplicate sibling pair (Bitcoin and
// ChainMaker; never for RFC 9162 and FISCO BCOS).
func (v *Verifier) MerkleRootEx(scheme Scheme, leaves [][]byte) ([32]byte, DuplicatePair, error) {
	var root [32]byte
	h, err := v.handle()
	if err != nil {
		return root, DuplicatePair{}, err
	}
	defer v.mu.RUnlock()
	buf, offsets := concat(leaves)
	var pair C.bv_duplicate_pair
	var e errBuf
	p, l := e.ptr()
	rc := C.bvgo_merkle(h, C.int(scheme), C.size_t(len(leaves)), bytePtr(buf),
		offsetPtr(offsets), (*C.uint8_t)(unsafe.Pointer(&root[0])), &pair, p, l)
	if rc < 0 {
		return root, DuplicatePair{}, e.err("MerkleRoot", int64(rc))
	}
	return root, DuplicatePair{Found: pair.found == 1, Level: uint32(pair.level), Index: uint64(pair.index)}, nil
}

// BlockResult is what VerifyBlock found.
type BlockResult struct {
	Height, Timestamp            uint64
	Records, Invalid, Duplicates uint64
	BlockHash, PrevHash          [32]byte
	HeaderRoot, ComputedRoot     [32]byte
	RootMatches, DuplicatePair   bool
	// Valid: the root matches, no duplicate pair, every record valid and unique.
	Valid bool
	// One per record: Valid, a reason, or Duplicate (a replay of an earlier record).
	Verdicts []Verdict
}

// VerifyBlock verifies a block in the library's reference block format: every record's
// signature under the block's policy, its Merkle root, and that no record repeats. The error
// wraps ErrMalformed when the bytes are not a well-formed block.
func (v *Verifier) VerifyBlock(block []byte) (BlockResult, error) {
	var out BlockResult
	h, err := v.handle()
	if err != nil {
		return out, err
	}
	defer v.mu.RUnlock()
	var e errBuf
	p, l := e.ptr()
	records := int64(C.bvgo_block_records(bytePtr(block), C.size_t(len(block)), p, l))
	if records < 0 {
		return out, e.err("VerifyBlock", records)
	}
	verdicts := make([]Verdict, records)
	var s C.bv_block_summary
	rc := int64(C.bvgo_block(h, bytePtr(block), C.size_t(len(block)), verdictPtr(verdicts),
		C.size_t(len(verdicts)), &s, p, l))
	if rc < 0 {
		return out, e.err("VerifyBlock", rc)
	}
	out = BlockResult{
		Height:        uint64(s.height),
		Timestamp:     uint64(s.timestamp),
		Records:       uint64(s.records),
		Invalid:       uint64(s.invalid),
		Duplicates:    uint64(s.duplicates),
		RootMatches:   s.root_matches == 1,
		DuplicatePair: s.duplicate_pair == 1,
		Valid:         s.valid == 1,
		Verdicts:      verdicts,
	}
	copyHash := func(dst *[32]byte, src *[32]C.uint8_t) {
		for i := range dst {
			dst[i] = byte(src[i])
		}
	}
	copyHash(&out.BlockHash, &s.block_hash)
	copyHash(&out.PrevHash, &s.prev_hash)
	copyHash(&out.HeaderRoot, &s.header_root)
	copyHash(&out.ComputedRoot, &s.computed_root)
	return out, nil
}

// VerifyEd25519 is Default().VerifyEd25519.
func VerifyEd25519(keys [][32]byte, sigs [][64]byte, msgs [][]byte, policy Policy) ([]Verdict, error) {
	v, err := Default()
	if err != nil {
		return nil, err
	}
	return v.VerifyEd25519(keys, sigs, msgs, policy)
}

// VerifySM2 is Default().VerifySM2.
func VerifySM2(keys [][64]byte, sigs [][64]byte, msgs [][]byte, ids [][]byte) ([]Verdict, error) {
	v, err := Default()
	if err != nil {
		return nil, err
	}
	return v.VerifySM2(keys, sigs, msgs, ids)
}

// VerifySM2Ex is Default().VerifySM2Ex.
func VerifySM2Ex(keys [][]byte, sigs [][]byte, format SigFormat, msgs [][]byte, ids [][]byte) ([]Verdict, error) {
	v, err := Default()
	if err != nil {
		return nil, err
	}
	return v.VerifySM2Ex(keys, sigs, format, msgs, ids)
}

// MerkleRoot is Default().MerkleRoot.
func MerkleRoot(scheme Scheme, leaves [][]byte) ([32]byte, error) {
	v, err := Default()
	if err != nil {
		return [32]byte{}, err
	}
	return v.MerkleRoot(scheme, leaves)
}

// Version is the engine's version ("0.1.0").
func Version() string { return C.GoString(C.bv_version()) }
