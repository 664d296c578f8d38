package clock

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	key := newKey(t)
	other := newKey(t)
	base := Snapshot{AuthorityID: "local", UnixTimeMs: 1_700_000_000_000, Stratum: 1}
	signed, err := Sign(base, key)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	tests := []struct {
		name   string
		mutate func(s *Snapshot)
		pub    ed25519.PublicKey
		want   error
	}{
		{"ok/signed", func(*Snapshot) {}, pub, nil},
		{"fail/time-changed", func(s *Snapshot) { s.UnixTimeMs++ }, pub, ErrUntrusted},
		{"fail/offset-changed", func(s *Snapshot) { s.EstimatedOffsetMs = 5 }, pub, ErrUntrusted},
		{"fail/other-key", func(*Snapshot) {}, other.Public().(ed25519.PublicKey), ErrUntrusted},
		{"fail/bad-base64", func(s *Snapshot) { s.SignatureB64 = "!!" }, pub, ErrMalformed},
		{"fail/newline-in-id", func(s *Snapshot) { s.AuthorityID = "a\nunix_time_ms=1" }, pub, ErrMalformed},
		{"fail/zero-time", func(s *Snapshot) { s.UnixTimeMs = 0 }, pub, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := signed
			tc.mutate(&s)
			err := Verify(&s, tc.pub)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSignedBytesCanonical(t *testing.T) {
	s := Snapshot{AuthorityID: "a", AuthorityFingerprintHex: "ff", UnixTimeMs: 12, Stratum: 2, RoundTripMs: 3, DispersionMs: 4, EstimatedOffsetMs: -5, SignatureB64: "ignored"}
	want := "aunsorm-clock-attestation-v1\nauthority_id=a\nauthority_fingerprint_hex=ff\nunix_time_ms=12\nstratum=2\nround_trip_ms=3\ndispersion_ms=4\nestimated_offset_ms=-5\n"
	if got := string(s.SignedBytes()); got != want {
		t.Fatalf("SignedBytes =\n%q\nwant\n%q", got, want)
	}
}

func TestTrackerFreshness(t *testing.T) {
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	now := time.UnixMilli(1_700_000_000_000)
	tr := NewTracker(pub, 10*time.Second, WithNow(func() time.Time { return now }))
	if st := tr.Status(); st.Fresh || !errors.Is(st.Err, ErrStale) {
		t.Fatalf("empty tracker: %+v", st)
	}
	s, _ := Sign(Snapshot{AuthorityID: "local", UnixTimeMs: now.UnixMilli() - 1000}, key)
	if err := tr.Update(s); err != nil {
		t.Fatal(err)
	}
	st := tr.Status()
	if !st.Fresh || st.Age != time.Second {
		t.Fatalf("after update: fresh=%v age=%v", st.Fresh, st.Age)
	}
	now = now.Add(9*time.Second + time.Millisecond)
	if st := tr.Status(); st.Fresh || !errors.Is(st.Err, ErrStale) {
		t.Fatalf("age 10.001s must be stale at max 10s, got fresh age=%v", st.Age)
	}
	now = now.Add(-2 * time.Millisecond)
	if st := tr.Status(); !st.Fresh || st.AttestedNow.UnixMilli() != s.UnixTimeMs+8999 {
		t.Fatalf("attested now = %v", st.AttestedNow.UnixMilli())
	}
	// An older snapshot is refused.
	old, _ := Sign(Snapshot{AuthorityID: "local", UnixTimeMs: s.UnixTimeMs - 1}, key)
	if err := tr.Update(old); !errors.Is(err, ErrRollback) {
		t.Fatalf("rollback: %v", err)
	}
	// Untrusted updates: once stale, the reason reported is the authority.
	now = now.Add(time.Minute)
	forged, _ := Sign(Snapshot{AuthorityID: "local", UnixTimeMs: now.UnixMilli()}, newKey(t))
	if err := tr.Update(forged); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("forged: %v", err)
	}
	if st := tr.Status(); st.Fresh || !errors.Is(st.Err, ErrUntrusted) {
		t.Fatalf("after forged: %+v", st)
	}
	good, _ := Sign(Snapshot{AuthorityID: "local", UnixTimeMs: now.UnixMilli()}, key)
	if err := tr.Update(good); err != nil {
		t.Fatal(err)
	}
	if st := tr.Status(); !st.Fresh {
		t.Fatalf("recovered: %+v", st)
	}
}

func FuzzVerify(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	s, _ := Sign(Snapshot{AuthorityID: "local", UnixTimeMs: 1}, key)
	f.Add(s.AuthorityID, s.AuthorityFingerprintHex, s.UnixTimeMs, s.SignatureB64)
	f.Add("", "", int64(-1), "")
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, id, fp string, ms int64, sig string) {
		in := Snapshot{AuthorityID: id, AuthorityFingerprintHex: fp, UnixTimeMs: ms, SignatureB64: sig}
		if err := Verify(&in, pub); err == nil && (in.SignatureB64 != s.SignatureB64 || in.UnixTimeMs != s.UnixTimeMs) {
			t.Fatalf("forged snapshot verified: %+v", in)
		}
	})
}
