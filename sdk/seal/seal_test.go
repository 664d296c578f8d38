package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

// key returns a KeySize key filled from b.
func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func newSealer(t testing.TB, keys ...Key) *Sealer {
	t.Helper()
	s, err := New(rand.Reader, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixedRand returns the same bytes on every read, for known answers.
type fixedRand []byte

func (f fixedRand) Read(p []byte) (int, error) { return copy(p, f), nil }

type failingRand struct{}

func (failingRand) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestKnownAnswer pins the format against vectors computed with an
// independent AES-GCM implementation (Python cryptography's AESGCM over
// header ‖ aad).
func TestKnownAnswer(t *testing.T) {
	seq := make([]byte, KeySize)
	for i := range seq {
		seq[i] = byte(i)
	}
	nonce := fixedRand{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab}
	tests := []struct {
		name    string
		version uint32
		aad, pt string
		want    string
	}{
		{"ok/v3", 3, "kms/keys/k1", "secret", "0100000003a0a1a2a3a4a5a6a7a8a9aaab957d1f5f20bf943649c9d188f79f60fc865a06cd7757"},
		{"ok/empty", 1, "", "", "0100000001a0a1a2a3a4a5a6a7a8a9aaab1a2f54b58787365fe84bd64ff3ac760a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(nonce, Key{Version: tc.version, Secret: seq})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Seal([]byte(tc.aad), []byte(tc.pt))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tc.want {
				t.Fatalf("Seal = %x, want %s", got, tc.want)
			}
			want, _ := hex.DecodeString(tc.want)
			pt, stale, err := s.Open([]byte(tc.aad), want)
			if err != nil || stale || string(pt) != tc.pt {
				t.Fatalf("Open = %q, %v, %v", pt, stale, err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		rand io.Reader
		keys []Key
		want error
	}{
		{"ok/one", rand.Reader, []Key{{1, key(1)}}, nil},
		{"ok/gap", rand.Reader, []Key{{4, key(4)}, {1, key(1)}}, nil},
		{"fail/no-keys", rand.Reader, nil, ErrKeys},
		{"fail/no-rand", nil, []Key{{1, key(1)}}, ErrKeys},
		{"fail/version-zero", rand.Reader, []Key{{0, key(1)}}, ErrKeys},
		{"fail/short-key", rand.Reader, []Key{{1, key(1)[:16]}}, ErrKeys},
		{"fail/duplicate", rand.Reader, []Key{{1, key(1)}, {1, key(2)}}, ErrKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.rand, tc.keys...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("New error = %v, want %v", err, tc.want)
			}
			if err == nil && s.Current() != tc.keys[0].Version {
				t.Fatalf("Current = %d, want %d", s.Current(), tc.keys[0].Version)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	mine := newSealer(t, Key{1, key(1)})
	sealed, err := mine.Seal([]byte("users/42/secret"), []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != Overhead+len("hunter2") {
		t.Fatalf("sealed length %d", len(sealed))
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	relabelled := bytes.Clone(sealed)
	relabelled[4] = 2                     // version 1 → 2
	other := newSealer(t, Key{1, key(2)}) // another plugin instance's key, same version
	tests := []struct {
		name   string
		s      *Sealer
		aad    string
		sealed []byte
		want   error
	}{
		{"ok/round-trip", mine, "users/42/secret", sealed, nil},
		{"fail/wrong-aad", mine, "users/43/secret", sealed, ErrRefused},
		{"fail/other-plugin", other, "users/42/secret", sealed, ErrRefused},
		{"fail/tampered-ciphertext", mine, "users/42/secret", flip(HeaderSize + NonceSize), ErrRefused},
		{"fail/tampered-nonce", mine, "users/42/secret", flip(HeaderSize), ErrRefused},
		{"fail/tampered-tag", mine, "users/42/secret", flip(len(sealed) - 1), ErrRefused},
		{"fail/relabelled-version", newSealer(t, Key{1, key(1)}, Key{2, key(1)}), "users/42/secret", relabelled, ErrRefused},
		{"fail/unknown-version", mine, "users/42/secret", flip(3), ErrUnknownVersion},
		{"fail/format", mine, "users/42/secret", flip(0), ErrMalformed},
		{"fail/truncated", mine, "users/42/secret", sealed[:Overhead-1], ErrMalformed},
		{"fail/empty", mine, "users/42/secret", nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, stale, err := tc.s.Open([]byte(tc.aad), tc.sealed)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open error = %v, want %v", err, tc.want)
			}
			if err == nil && (string(pt) != "hunter2" || stale) {
				t.Fatalf("Open = %q, stale %v", pt, stale)
			}
			if err != nil && (pt != nil || bytes.Contains([]byte(err.Error()), []byte("hunter2"))) {
				t.Fatalf("a refusal leaked plaintext: %q, %v", pt, err)
			}
		})
	}
}

func TestSealFresh(t *testing.T) {
	s := newSealer(t, Key{1, key(1)})
	a, _ := s.Seal(nil, []byte("x"))
	b, _ := s.Seal(nil, []byte("x"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are equal: nonce reused")
	}
	if _, err := New(failingRand{}, Key{1, key(1)}); err != nil {
		t.Fatal(err)
	}
	f, _ := New(failingRand{}, Key{1, key(1)})
	if _, err := f.Seal(nil, []byte("x")); !errors.Is(err, ErrRand) {
		t.Fatalf("Seal with a failing source = %v, want ErrRand", err)
	}
}

// TestRotation: after a new version, old values still open and are
// reported stale; Reseal moves them to the current version.
func TestRotation(t *testing.T) {
	v1 := newSealer(t, Key{1, key(1)})
	old, _ := v1.Seal([]byte("aad"), []byte("value"))
	v2 := newSealer(t, Key{1, key(1)}, Key{2, key(2)})
	if v2.Current() != 2 || len(v2.Versions()) != 2 {
		t.Fatalf("Current %d Versions %v", v2.Current(), v2.Versions())
	}
	pt, stale, err := v2.Open([]byte("aad"), old)
	if err != nil || !stale || string(pt) != "value" {
		t.Fatalf("Open old = %q, %v, %v", pt, stale, err)
	}
	if st, _ := v2.Stale(old); !st {
		t.Fatal("Stale(old) = false")
	}
	fresh, changed, err := v2.Reseal([]byte("aad"), old)
	if err != nil || !changed {
		t.Fatalf("Reseal = %v, %v", changed, err)
	}
	if v, _ := Version(fresh); v != 2 {
		t.Fatalf("resealed version %d", v)
	}
	same, changed, err := v2.Reseal([]byte("aad"), fresh)
	if err != nil || changed || !bytes.Equal(same, fresh) {
		t.Fatalf("Reseal current = %v, %v", changed, err)
	}
	if _, _, err := v2.Reseal([]byte("other"), old); !errors.Is(err, ErrRefused) {
		t.Fatalf("Reseal with the wrong aad = %v", err)
	}
	// A sealer that never got version 2 (an instance not yet reconfigured)
	// refuses the new value clearly instead of guessing.
	if _, _, err := v1.Open([]byte("aad"), fresh); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("old sealer on a new value = %v", err)
	}
}
