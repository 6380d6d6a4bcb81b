package blockverify

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// repoData is a file under the repository's tests/data (this package lives in ffi/go/blockverify).
func repoData(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", "tests", "data"}, parts...)...)
}

func newCPU(t testing.TB) *Verifier {
	t.Helper()
	v, err := New(2, CPU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	if s == "-" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// section is one part of a fixture file written by ffi/tests/go_vectors.rs: a header line
// "KIND ARGS... N" and its item lines, split on spaces.
type section struct {
	header []string
	items  [][]string
	// root is the line after a merkle section's leaves.
	root string
}

func readFixture(t *testing.T, name string) []section {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var out []section
	for sc.Scan() {
		header := strings.Split(sc.Text(), " ")
		n, err := strconv.Atoi(header[len(header)-1])
		if err != nil {
			t.Fatalf("%s: bad header %q", name, sc.Text())
		}
		s := section{header: header}
		for i := 0; i < n && sc.Scan(); i++ {
			s.items = append(s.items, strings.Split(sc.Text(), " "))
		}
		if header[0] == "merkle" && sc.Scan() {
			s.root = sc.Text()
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A random batch of honest and corrupted Ed25519 items, compared with crypto/ed25519: on
// honestly made keys both policies agree with Go's Verify.
func TestEd25519AgreesWithCryptoEd25519(t *testing.T) {
	v := newCPU(t)
	rng := rand.New(rand.NewSource(2026))
	const n = 600
	keys := make([][32]byte, n)
	sigs := make([][64]byte, n)
	msgs := make([][]byte, n)
	for i := 0; i < n; i++ {
		seed := make([]byte, ed25519.SeedSize)
		rng.Read(seed)
		priv := ed25519.NewKeyFromSeed(seed)
		msg := make([]byte, rng.Intn(300))
		rng.Read(msg)
		copy(keys[i][:], priv.Public().(ed25519.PublicKey))
		copy(sigs[i][:], ed25519.Sign(priv, msg))
		msgs[i] = msg
		switch i % 8 {
		case 1:
			sigs[i][rng.Intn(32)] ^= 1 << uint(rng.Intn(8)) // R
		case 2:
			sigs[i][32+rng.Intn(32)] ^= 1 << uint(rng.Intn(8)) // S
		case 3:
			msgs[i] = append(msgs[i], 'x')
		case 4:
			keys[i][rng.Intn(32)] ^= 1 << uint(rng.Intn(8))
		}
	}
	invalid := 0
	for _, policy := range []Policy{ZIP215, Strict} {
		verdicts, err := v.VerifyEd25519(keys, sigs, msgs, policy)
		if err != nil {
			t.Fatal(err)
		}
		if len(verdicts) != n {
			t.Fatalf("%d verdicts for %d items", len(verdicts), n)
		}
		invalid = 0
		for i := range verdicts {
			want := ed25519.Verify(keys[i][:], msgs[i], sigs[i][:])
			if verdicts[i].IsValid() != want {
				t.Errorf("policy %d item %d: %v, crypto/ed25519 says %v", policy, i, verdicts[i], want)
			}
			if !want {
				invalid++
			}
		}
	}
	if invalid < n/3 || invalid > n/2 {
		t.Fatalf("%d invalid items: the corruptions did not happen", invalid)
	}
	// The package-level function (the Default verifier) gives the same verdicts.
	again, err := VerifyEd25519(keys, sigs, msgs, Strict)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i].IsValid() != ed25519.Verify(keys[i][:], msgs[i], sigs[i][:]) {
			t.Fatalf("Default(): item %d differs", i)
		}
	}
}

// The repository's Ed25519 edge cases (tests/data/edge_cases.jsonl) carry both policies'
// verdicts, named by the library's descriptions.
func TestEd25519EdgeCases(t *testing.T) {
	names := map[string]Verdict{
		"valid":                           Valid,
		"non-canonical S (S >= L)":        NonCanonicalS,
		"public key is not a curve point": KeyNotOnCurve,
		"R is not a curve point":          RNotOnCurve,
		"public key has small order":      SmallOrderKey,
		"R has small order":               SmallOrderR,
		"R is not canonically encoded":    NonCanonicalR,
		"verification equation failed":    EquationFailed,
	}
	data, err := os.ReadFile(repoData("edge_cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var keys [][32]byte
	var sigs [][64]byte
	var msgs [][]byte
	var want [2][]Verdict
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var c struct{ Name, Pk, Sig, Msg, Zip215, Strict string }
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		var k [32]byte
		var s [64]byte
		copy(k[:], unhex(t, c.Pk))
		copy(s[:], unhex(t, c.Sig))
		keys, sigs, msgs = append(keys, k), append(sigs, s), append(msgs, unhex(t, c.Msg))
		for p, name := range []string{c.Zip215, c.Strict} {
			verdict, ok := names[name]
			if !ok {
				t.Fatalf("%s: unknown verdict %q", c.Name, name)
			}
			want[p] = append(want[p], verdict)
		}
	}
	v := newCPU(t)
	for p, policy := range []Policy{ZIP215, Strict} {
		got, err := v.VerifyEd25519(keys, sigs, msgs, policy)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[p][i] {
				t.Errorf("policy %d case %d: %v, want %v", policy, i, got[i], want[p][i])
			}
		}
	}
	if len(keys) < 900 {
		t.Fatalf("only %d edge cases", len(keys))
	}
}

// SM2 vectors made and checked by the Rust side: every section kind, verdicts as the Rust API
// gives them.
func TestSM2Vectors(t *testing.T) {
	v := newCPU(t)
	seen := map[Verdict]bool{}
	for _, s := range readFixture(t, "sm2.txt") {
		n := len(s.items)
		var want []Verdict
		var keys, sigs, msgs, ids [][]byte
		for _, it := range s.items {
			keys = append(keys, unhex(t, it[0]))
			sigs = append(sigs, unhex(t, it[1]))
			msgs = append(msgs, unhex(t, it[2]))
			if s.header[0] != "sm2" {
				id := unhex(t, it[3])
				if id == nil {
					id = []byte{}
				}
				ids = append(ids, id)
			}
			code, _ := strconv.Atoi(it[len(it)-1])
			want = append(want, Verdict(code))
			seen[Verdict(code)] = true
		}
		var got []Verdict
		var err error
		switch s.header[0] {
		case "sm2", "sm2_ids":
			rawKeys := make([][64]byte, n)
			rawSigs := make([][64]byte, n)
			for i := range keys {
				copy(rawKeys[i][:], keys[i])
				copy(rawSigs[i][:], sigs[i])
			}
			got, err = v.VerifySM2(rawKeys, rawSigs, msgs, ids)
			// The raw form, through the general entry point, gives the same verdicts.
			if err == nil {
				again, err2 := v.VerifySM2Ex(keys, sigs, SigRaw, msgs, ids)
				if err2 != nil || !equalVerdicts(again, got) {
					t.Errorf("%v: VerifySM2Ex differs from VerifySM2 (%v)", s.header, err2)
				}
			}
		case "sm2_ex":
			format := SigRaw
			if s.header[1] == "1" {
				format = SigDER
			}
			got, err = v.VerifySM2Ex(keys, sigs, format, msgs, ids)
		default:
			t.Fatalf("unknown section %v", s.header)
		}
		if err != nil {
			t.Fatalf("%v: %v", s.header, err)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%v item %d: %v, want %v", s.header, i, got[i], want[i])
			}
		}
	}
	for _, r := range []Verdict{Valid, EquationFailed, KeyNotOnCurve, KeyMalformed, IDTooLong, SignatureMalformed, RNotInRange, SNotInRange} {
		if !seen[r] {
			t.Errorf("the vectors lack %v", r)
		}
	}
}

func equalVerdicts(a, b []Verdict) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The standard's example (GB/T 32918.5 Annex A, tests/data/guomi/sm2_example.txt): the
// public key is [d]G, computed here with crypto/elliptic's generic arithmetic (SM2's a = -3).
func TestSM2StandardExample(t *testing.T) {
	hexInt := func(s string) *big.Int {
		n, ok := new(big.Int).SetString(s, 16)
		if !ok {
			t.Fatalf("bad hex %q", s)
		}
		return n
	}
	sm2p256v1 := &elliptic.CurveParams{
		Name:    "sm2p256v1",
		BitSize: 256,
		P:       hexInt("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF"),
		N:       hexInt("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"),
		B:       hexInt("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"),
		Gx:      hexInt("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"),
		Gy:      hexInt("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"),
	}
	data, err := os.ReadFile(repoData("guomi", "sm2_example.txt"))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]byte{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(line, "#") {
			values[f[0]] = unhex(t, f[1])
		}
	}
	x, y := sm2p256v1.ScalarBaseMult(values["d"])
	var key, sig [64]byte
	x.FillBytes(key[:32])
	y.FillBytes(key[32:])
	copy(sig[:32], values["r"])
	copy(sig[32:], values["s"])
	compressed := append([]byte{2 | byte(y.Bit(0))}, key[:32]...)
	uncompressed := append([]byte{4}, key[:]...)
	got, err := VerifySM2([][64]byte{key, key}, [][64]byte{sig, sig},
		[][]byte{[]byte("message digest"), []byte("message digesT")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != Valid || got[1] != EquationFailed {
		t.Fatalf("the standard's example: %v", got)
	}
	ids := [][]byte{[]byte(DefaultID), []byte(DefaultID), []byte("")}
	got, err = VerifySM2Ex([][]byte{compressed, uncompressed, key[:]}, [][]byte{sig[:], sig[:], sig[:]},
		SigRaw, [][]byte{[]byte("message digest"), []byte("message digest"), []byte("message digest")}, ids)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != Valid || got[1] != Valid || got[2] != EquationFailed {
		t.Fatalf("other key forms and the empty ID: %v", got)
	}
}

// rfc9162 is RFC 9162 section 2.1.1's MTH, written from the RFC.
func rfc9162(leaves [][]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := rfc9162(leaves[:k]), rfc9162(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// pairUp is the Bitcoin / ChainMaker tree: node = h(l || r), an odd node paired with itself.
func pairUp(level [][32]byte, h func([]byte) [32]byte) [32]byte {
	for len(level) > 1 {
		var next [][32]byte
		for i := 0; i < len(level); i += 2 {
			r := level[i]
			if i+1 < len(level) {
				r = level[i+1]
			}
			next = append(next, h(append(append([]byte{}, level[i][:]...), r[:]...)))
		}
		level = next
	}
	return level[0]
}

func TestMerkleRFC9162AndChainMakerSHA256AgainstGoReferences(t *testing.T) {
	v := newCPU(t)
	rng := rand.New(rand.NewSource(9162))
	for _, n := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 4097} {
		leaves := make([][]byte, n)
		hashes := make([][32]byte, n)
		for i := range leaves {
			leaves[i] = make([]byte, rng.Intn(100))
			rng.Read(leaves[i])
			rng.Read(hashes[i][:])
		}
		root, err := v.MerkleRoot(RFC9162, leaves)
		if err != nil {
			t.Fatal(err)
		}
		if root != rfc9162(leaves) {
			t.Errorf("RFC 9162, %d leaves: %x, want %x", n, root, rfc9162(leaves))
		}
		flat := make([][]byte, n)
		for i := range hashes {
			flat[i] = hashes[i][:]
		}
		root, err = v.MerkleRoot(ChainMakerSHA256, flat)
		if n == 0 {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("ChainMaker with no leaves: %v, want an error", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := pairUp(hashes, sha256.Sum256); root != want {
			t.Errorf("ChainMaker SHA-256, %d leaves: %x, want %x", n, root, want)
		}
	}
}

// Real Bitcoin blocks (tests/data/bitcoin): txids and roots in display (reversed) order.
func TestMerkleBitcoinBlocks(t *testing.T) {
	files, err := filepath.Glob(repoData("bitcoin", "block*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Bitcoin blocks: %v", err)
	}
	reversed := func(b []byte) []byte {
		out := make([]byte, len(b))
		for i := range b {
			out[len(b)-1-i] = b[i]
		}
		return out
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		var txids [][]byte
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
			case strings.HasPrefix(line, "root "):
				want = reversed(unhex(t, strings.TrimPrefix(line, "root ")))
			default:
				txids = append(txids, reversed(unhex(t, line)))
			}
		}
		root, pair, err := Must(t).MerkleRootEx(Bitcoin, txids)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root[:], want) || pair.Found {
			t.Errorf("%s: root %x (pair %v), want %x", file, root, pair, want)
		}
	}
}

// Must is the Default verifier or a test failure.
func Must(t *testing.T) *Verifier {
	v, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every scheme, SM3 ones included, against roots the Rust API computed.
func TestMerkleVectors(t *testing.T) {
	v := newCPU(t)
	count := 0
	for _, s := range readFixture(t, "merkle.txt") {
		scheme, _ := strconv.Atoi(s.header[1])
		leaves := make([][]byte, len(s.items))
		for i, it := range s.items {
			leaves[i] = unhex(t, it[0])
		}
		root, pair, err := v.MerkleRootEx(Scheme(scheme), leaves)
		if s.root == "root error" {
			if !errors.Is(err, ErrUsage) || err.Error() == "" {
				t.Errorf("%v: %v, want an error", s.header, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", s.header, err)
		}
		if got := "root " + hex.EncodeToString(root[:]); got != s.root {
			t.Errorf("%v: %s, want %s", s.header, got, s.root)
		}
		if pair.Found && (Scheme(scheme) == RFC9162 || Scheme(scheme) == FiscoBcos) {
			t.Errorf("%v: a duplicate pair under a scheme without them", s.header)
		}
		count++
	}
	if count < 50 {
		t.Fatalf("only %d roots", count)
	}
}

func TestBlockVector(t *testing.T) {
	s := readFixture(t, "block.txt")[0]
	it := s.items[0]
	res, err := newCPU(t).VerifyBlock(unhex(t, it[0]))
	if err != nil {
		t.Fatal(err)
	}
	bad := int(res.Invalid + res.Duplicates)
	if strconv.Itoa(bad) != it[1] || hex.EncodeToString(res.ComputedRoot[:]) != it[3] {
		t.Fatalf("block: %d bad, root %x; want %s, %s", bad, res.ComputedRoot, it[1], it[3])
	}
	var codes []string
	for _, verdict := range res.Verdicts {
		codes = append(codes, strconv.Itoa(int(verdict)))
	}
	if strings.Join(codes, ",") != it[4] || uint64(len(res.Verdicts)) != res.Records {
		t.Fatalf("block verdicts %v, want %s", codes, it[4])
	}
	if res.Valid != (it[2] == "1") || res.RootMatches != (res.HeaderRoot == res.ComputedRoot) {
		t.Fatalf("block validity: %+v", res)
	}
}

func TestMisuseIsAnErrorWithAMessage(t *testing.T) {
	v := newCPU(t)
	check := func(what string, err error, kind error, fragment string) {
		t.Helper()
		if !errors.Is(err, kind) || !strings.Contains(err.Error(), fragment) {
			t.Errorf("%s: got %v, want %v containing %q", what, err, kind, fragment)
		}
	}
	_, err := v.VerifyEd25519(make([][32]byte, 2), make([][64]byte, 1), make([][]byte, 2), ZIP215)
	check("lengths", err, ErrUsage, "2 keys, 1 signatures")
	_, err = v.VerifyEd25519(make([][32]byte, 1), make([][64]byte, 1), make([][]byte, 1), Policy(9))
	check("policy 9", err, ErrUsage, "unknown policy 9")
	_, err = v.VerifySM2(make([][64]byte, 1), make([][64]byte, 1), make([][]byte, 1), make([][]byte, 2))
	check("ids", err, ErrUsage, "2 IDs for 1 items")
	_, err = v.VerifySM2Ex(make([][]byte, 1), make([][]byte, 1), SigFormat(5), make([][]byte, 1), nil)
	check("format 5", err, ErrUsage, "unknown sig_format 5")
	_, err = v.MerkleRoot(Scheme(42), nil)
	check("scheme 42", err, ErrUsage, "unknown scheme 42")
	_, err = v.MerkleRoot(Bitcoin, [][]byte{make([]byte, 31)})
	check("31-byte txid", err, ErrUsage, "31 bytes")
	_, err = v.MerkleRoot(ChainMakerSM3, nil)
	check("empty ChainMaker", err, ErrUsage, "no root")
	_, err = v.VerifyBlock([]byte("not a block"))
	check("block", err, ErrMalformed, "malformed block")
	_, err = New(0, Backend(7))
	check("backend 7", err, ErrUsage, "unknown backend 7")
	_, err = New(100000, CPU)
	check("threads", err, ErrUsage, "threads")
	// Empty batches are fine.
	if got, err := v.VerifyEd25519(nil, nil, nil, Strict); err != nil || len(got) != 0 {
		t.Errorf("empty batch: %v %v", got, err)
	}
	if root, err := v.MerkleRoot(FiscoBcos, nil); err != nil || root != [32]byte{} {
		t.Errorf("empty FISCO tree: %x %v", root, err)
	}
	if Verdict(7).String() != "equation_failed" || Valid.String() != "valid" || Duplicate.String() != "duplicate" {
		t.Errorf("names: %v %v %v", Verdict(7), Valid, Duplicate)
	}
	if Version() == "" {
		t.Error("no version")
	}
}

func TestCloseWaitsAndLaterCallsFail(t *testing.T) {
	v, err := New(1, CPU)
	if err != nil {
		t.Fatal(err)
	}
	if v.HasGPU() {
		t.Error("a CPU verifier with a GPU")
	}
	v.Close()
	v.Close()
	if _, err := v.VerifyEd25519(nil, nil, nil, ZIP215); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := v.MerkleRoot(RFC9162, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestOneVerifierManyGoroutines(t *testing.T) {
	v := newCPU(t)
	keys, sigs, msgs := ed25519Batch(200, 7)
	sigs[3][40] ^= 1
	want, err := v.VerifyEd25519(keys, sigs, msgs, ZIP215)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 5; round++ {
				got, err := v.VerifyEd25519(keys, sigs, msgs, ZIP215)
				if err != nil || !equalVerdicts(got, want) {
					t.Errorf("concurrent call: %v", err)
					return
				}
				// Errors stay with their call, whatever OS thread the goroutine is on.
				if _, err := v.MerkleRoot(Scheme(100+round), nil); err == nil ||
					!strings.Contains(err.Error(), "unknown scheme "+strconv.Itoa(100+round)) {
					t.Errorf("error message of another call: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if want[3] == Valid {
		t.Fatal("the corrupted item verified")
	}
}

// ed25519Batch makes n honest items with crypto/ed25519.
func ed25519Batch(n int, seed int64) ([][32]byte, [][64]byte, [][]byte) {
	rng := rand.New(rand.NewSource(seed))
	keys := make([][32]byte, n)
	sigs := make([][64]byte, n)
	msgs := make([][]byte, n)
	for i := 0; i < n; i++ {
		s := make([]byte, ed25519.SeedSize)
		rng.Read(s)
		priv := ed25519.NewKeyFromSeed(s)
		msgs[i] = make([]byte, 128)
		rng.Read(msgs[i])
		copy(keys[i][:], priv.Public().(ed25519.PublicKey))
		copy(sigs[i][:], ed25519.Sign(priv, msgs[i]))
	}
	return keys, sigs, msgs
}
