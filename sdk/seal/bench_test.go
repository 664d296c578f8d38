package seal

import (
	"crypto/rand"
	"fmt"
	"testing"
)

// BenchmarkSeal and BenchmarkOpen measure the sealer on typical secret
// sizes (a 32-byte key, a 1 KiB PEM, 64 KiB), nonces from crypto/rand.
func BenchmarkSeal(b *testing.B) {
	s, err := New(rand.Reader, Key{1, key(1)})
	if err != nil {
		b.Fatal(err)
	}
	aad := []byte("keys/k-0001/material")
	for _, n := range []int{32, 1 << 10, 64 << 10} {
		pt := make([]byte, n)
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := s.Seal(aad, pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	s, err := New(rand.Reader, Key{1, key(1)}, Key{2, key(2)})
	if err != nil {
		b.Fatal(err)
	}
	aad := []byte("keys/k-0001/material")
	for _, n := range []int{32, 1 << 10, 64 << 10} {
		sealed, err := s.Seal(aad, make([]byte, n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, _, err := s.Open(aad, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
