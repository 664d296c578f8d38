package rng

import (
	"context"
	"crypto/rand"
	"testing"
	"time"
)

func benchReader(b *testing.B) *Reader {
	b.Helper()
	f := &fakeSeed{}
	r, err := NewReader(context.Background(), Config{Seed: f.seed, ReseedInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

func benchRead(b *testing.B, read func([]byte) (int, error), n int) {
	buf := make([]byte, n)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReaderRead32(b *testing.B)     { benchRead(b, benchReader(b).Read, 32) }
func BenchmarkReaderRead4K(b *testing.B)     { benchRead(b, benchReader(b).Read, 4096) }
func BenchmarkCryptoRandRead32(b *testing.B) { benchRead(b, rand.Read, 32) }
func BenchmarkCryptoRandRead4K(b *testing.B) { benchRead(b, rand.Read, 4096) }
