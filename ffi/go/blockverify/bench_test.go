package blockverify

import (
	"crypto/ed25519"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkEd25519 verifies the same batch of honest signatures (128-byte messages, distinct
// keys) through this package (one cgo call per batch, ZIP 215 and strict) and with Go's own
// crypto/ed25519 (one Verify per item, on one goroutine and on one goroutine per core), at
// 1, 64 and 16,384 items. ns/item is the figure to compare.
//
//	go test -run '^$' -bench Ed25519 -benchtime 2s
func BenchmarkEd25519(b *testing.B) {
	v, err := New(0, CPU)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	for _, n := range []int{1, 64, 16384} {
		keys, sigs, msgs := ed25519Batch(n, int64(n))
		perItem := func(b *testing.B, start time.Time) {
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*n), "ns/item")
		}
		for _, p := range []struct {
			name   string
			policy Policy
		}{{"zip215", ZIP215}, {"strict", Strict}} {
			b.Run(fmt.Sprintf("n=%d/blockverify-%s", n, p.name), func(b *testing.B) {
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					verdicts, err := v.VerifyEd25519(keys, sigs, msgs, p.policy)
					if err != nil || verdicts[0] != Valid {
						b.Fatal(err)
					}
				}
				perItem(b, start)
			})
		}
		b.Run(fmt.Sprintf("n=%d/crypto-ed25519", n), func(b *testing.B) {
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				for j := range keys {
					if !ed25519.Verify(keys[j][:], msgs[j], sigs[j][:]) {
						b.Fatal("invalid")
					}
				}
			}
			perItem(b, start)
		})
		b.Run(fmt.Sprintf("n=%d/crypto-ed25519-parallel", n), func(b *testing.B) {
			workers := runtime.GOMAXPROCS(0)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				done := make(chan bool, workers)
				for w := 0; w < workers; w++ {
					go func(w int) {
						ok := true
						for j := w; j < len(keys); j += workers {
							ok = ok && ed25519.Verify(keys[j][:], msgs[j], sigs[j][:])
						}
						done <- ok
					}(w)
				}
				for w := 0; w < workers; w++ {
					if !<-done {
						b.Fatal("invalid")
					}
				}
			}
			perItem(b, start)
		})
	}
}

// BenchmarkCallOverhead is the fixed cost of one verification call: an empty batch through
// cgo, the ABI's checks and the engine's hand-off to its worker pool (which the Rust API pays
// too).
func BenchmarkCallOverhead(b *testing.B) {
	v, err := New(1, CPU)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	for i := 0; i < b.N; i++ {
		if _, err := v.VerifyEd25519(nil, nil, nil, ZIP215); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCgoCrossing is one cgo call that does no work in the engine (HasGPU): the floor
// under every call from Go.
func BenchmarkCgoCrossing(b *testing.B) {
	v, err := New(1, CPU)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	for i := 0; i < b.N; i++ {
		if v.HasGPU() {
			b.Fatal("a CPU verifier with a GPU")
		}
	}
}
