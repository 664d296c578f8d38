package seal

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to the parser and Open: never a panic,
// only the package's errors, and nothing opens that was not sealed.
func FuzzOpen(f *testing.F) {
	// A fixed nonce source: every fuzz worker must seal the same seed.
	s, err := New(fixedRand(make([]byte, NonceSize)), Key{1, key(1)}, Key{2, key(2)})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := s.Seal([]byte("row"), []byte("secret"))
	f.Add([]byte("row"), good)
	f.Add([]byte(""), []byte{})
	f.Add([]byte("row"), good[:Overhead])
	f.Add([]byte("row"), append([]byte{Format, 0, 0, 0, 0}, make([]byte, 40)...))
	f.Add([]byte("row"), append([]byte{Format, 0xff, 0xff, 0xff, 0xff}, make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, aad, sealed []byte) {
		_, verr := Version(sealed)
		pt, _, err := s.Open(aad, sealed)
		if err == nil {
			if verr != nil {
				t.Fatalf("Open succeeded where Version failed: %v", verr)
			}
			if !bytes.Equal(aad, []byte("row")) || !bytes.Equal(pt, []byte("secret")) || !bytes.Equal(sealed, good) {
				t.Fatalf("opened a value that was never sealed: %x", sealed)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownVersion) && !errors.Is(err, ErrRefused) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzTamper seals, flips one bit anywhere, and expects a refusal.
func FuzzTamper(f *testing.F) {
	s := newSealer(f, Key{1, key(1)}, Key{7, key(7)})
	f.Add([]byte("aad"), []byte("plaintext"), uint16(0), uint8(0))
	f.Add([]byte(""), []byte(""), uint16(20), uint8(7))
	f.Fuzz(func(t *testing.T, aad, pt []byte, at uint16, bit uint8) {
		sealed, err := s.Seal(aad, pt)
		if err != nil {
			t.Fatal(err)
		}
		got, stale, err := s.Open(aad, sealed)
		if err != nil || stale || !bytes.Equal(got, pt) {
			t.Fatalf("round trip: %v", err)
		}
		sealed[int(at)%len(sealed)] ^= 1 << (bit % 8)
		if _, _, err := s.Open(aad, sealed); err == nil {
			t.Fatalf("a value with bit %d of byte %d flipped opened", bit%8, int(at)%len(sealed))
		}
	})
}
