package attest

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/clock"
)

// failReader is an entropy source that always fails.
type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

// newLocal starts a local authority in dir with the test defaults.
func newLocal(t *testing.T, dir string, mutate func(*LocalConfig)) (*Authority, error) {
	t.Helper()
	cfg := LocalConfig{Dir: dir, ID: "local-test", MaxAge: 30 * time.Second, Rand: rand.Reader}
	if mutate != nil {
		mutate(&cfg)
	}
	return NewLocal(zerolog.Nop(), cfg)
}

// readPubPEM parses dir/authority.pub.pem.
func readPubPEM(t *testing.T, dir string) ed25519.PublicKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "authority.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("authority.pub.pem is not a PEM public key: %q", data)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		t.Fatalf("authority.pub.pem holds %T", k)
	}
	return pub
}

func TestNewLocalKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "clock") // created by NewLocal
	a, err := newLocal(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "authority.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("authority.key mode %o, want 600", st.Mode().Perm())
	}
	if dst, err := os.Stat(dir); err != nil || dst.Mode().Perm()&0o077 != 0 {
		t.Fatalf("key directory mode %v (err %v), want private", dst.Mode(), err)
	}
	if pub := readPubPEM(t, dir); !pub.Equal(a.PublicKey()) {
		t.Fatal("authority.pub.pem does not hold the authority key")
	}
	// The atomic writes leave nothing but the two files behind.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "authority.key" || names[1] != "authority.pub.pem" {
		t.Fatalf("key directory holds %v", names)
	}

	t.Run("ok/reloads-same-key", func(t *testing.T) {
		b, err := newLocal(t, dir, func(c *LocalConfig) { c.Rand = failReader{} }) // no key drawn
		if err != nil {
			t.Fatal(err)
		}
		if !b.PublicKey().Equal(a.PublicKey()) {
			t.Fatal("second start generated a new key")
		}
	})
	t.Run("ok/rewrites-missing-public-pem", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, "authority.pub.pem")); err != nil {
			t.Fatal(err)
		}
		if _, err := newLocal(t, dir, nil); err != nil {
			t.Fatal(err)
		}
		if pub := readPubPEM(t, dir); !pub.Equal(a.PublicKey()) {
			t.Fatal("rewritten authority.pub.pem holds another key")
		}
	})
}

func TestNewLocalRefusesBadKeyFiles(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	// good writes a valid key with the given mode.
	good := func(mode os.FileMode) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if _, err := newLocal(t, dir, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "authority.key"), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(data []byte) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "authority.key"), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		wantErr bool
	}{
		{"ok/mode-600", good(0o600), false},
		{"ok/mode-400", good(0o400), false},
		{"fail/world-readable", good(0o604), true},
		{"fail/group-readable", good(0o640), true},
		{"fail/not-pem", write([]byte("not a key")), true},
		{"fail/wrong-pem-type", write(pemOf("CERTIFICATE", ecDER)), true},
		{"fail/garbage-pkcs8", write(pemOf("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00})), true},
		{"fail/not-ed25519", write(pemOf("PRIVATE KEY", ecDER)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			_, err := newLocal(t, dir, nil)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewLocal err = %v, want error %v", err, tc.wantErr)
			}
		})
	}

	t.Run("fail/entropy-source", func(t *testing.T) {
		if _, err := newLocal(t, t.TempDir(), func(c *LocalConfig) { c.Rand = failReader{} }); err == nil {
			t.Fatal("key generated without entropy")
		}
	})
	t.Run("fail/dir-is-a-file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := newLocal(t, filepath.Join(f, "clock"), nil); err == nil {
			t.Fatal("NewLocal accepted a directory under a regular file")
		}
	})
}

func TestLocalSnapshotVerifies(t *testing.T) {
	a, err := newLocal(t, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, ok := a.Current()
	if !ok {
		t.Fatal("no snapshot right after NewLocal")
	}
	pub := a.PublicKey()
	if err := clock.Verify(&doc.Snapshot, pub); err != nil {
		t.Fatalf("snapshot does not verify: %v", err)
	}
	if doc.AuthorityFingerprintHex != clock.Fingerprint(pub) {
		t.Fatalf("fingerprint %s, want %s", doc.AuthorityFingerprintHex, clock.Fingerprint(pub))
	}
	if doc.AuthorityID != "local-test" || doc.Stratum != 16 {
		t.Fatalf("snapshot %+v: want id local-test and stratum 16 without offset", doc.Snapshot)
	}
	// The document's SPKI hashes to the fingerprint operators pin.
	der, err := base64.StdEncoding.DecodeString(doc.AuthorityPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(der); hex.EncodeToString(sum[:]) != doc.AuthorityFingerprintHex {
		t.Fatal("authority_public_key_spki_b64 does not hash to the fingerprint")
	}
	if st := a.Tracker().Status(); !st.Fresh || st.Updates != 1 || !a.RefreshEnabled() {
		t.Fatalf("tracker %+v refresh %v", st, a.RefreshEnabled())
	}

	t.Run("fail/invalid-id-signs-nothing", func(t *testing.T) {
		b, err := newLocal(t, t.TempDir(), func(c *LocalConfig) { c.ID = "bad id" })
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := b.Current(); ok {
			t.Fatal("a snapshot was accepted for an invalid authority id")
		}
		if st := b.Tracker().Status(); st.Fresh {
			t.Fatal("tracker fresh without a snapshot")
		}
	})
}

// fakeClock is a settable clock for LocalConfig.Now.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time            { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration) int64 { return time.Unix(0, c.ns.Add(int64(d))).UnixMilli() }

// waitSnapshot reads ch until a snapshot with the given time arrives.
func waitSnapshot(t *testing.T, ch <-chan clock.Snapshot, unixMs int64) clock.Snapshot {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-ch:
			if s.UnixTimeMs == unixMs {
				return s
			}
		case <-deadline:
			t.Fatalf("no snapshot for unix_time_ms %d", unixMs)
		}
	}
}

func TestLocalOffsetSample(t *testing.T) {
	sample := OffsetSample{Offset: 1500 * time.Millisecond, RoundTrip: 20 * time.Millisecond, Dispersion: 15 * time.Millisecond, Stratum: 2}
	var calls atomic.Int32
	var fail atomic.Bool
	clk := &fakeClock{}
	clk.ns.Store(time.Now().UnixNano())
	a, err := newLocal(t, t.TempDir(), func(c *LocalConfig) {
		c.MaxAge = 400 * time.Millisecond // refresh every 100 ms
		c.Now = clk.Now
		c.Offset = func(context.Context) (OffsetSample, error) {
			calls.Add(1)
			if fail.Load() {
				return OffsetSample{}, ErrNTP
			}
			return sample, nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := a.Current()
	if calls.Load() != 1 {
		t.Fatalf("offset measured %d times at start, want 1", calls.Load())
	}
	want := clock.Snapshot{Stratum: 3, RoundTripMs: 20, DispersionMs: 15, EstimatedOffsetMs: 1500}
	if doc.Stratum != want.Stratum || doc.RoundTripMs != want.RoundTripMs || doc.DispersionMs != want.DispersionMs || doc.EstimatedOffsetMs != want.EstimatedOffsetMs {
		t.Fatalf("snapshot %+v does not carry the sample (want stratum+1 and the durations in ms)", doc.Snapshot)
	}

	ch, cancelSub := a.Subscribe()
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.Run(ctx) }()
	defer wg.Wait()
	defer cancel()

	steps := []struct {
		name      string
		advance   time.Duration
		fail      bool
		wantCalls int32
	}{
		{"ok/63s-no-new-measurement", 63 * time.Second, false, 1},
		{"ok/64s-measures-again", time.Second, false, 2},
		{"ok/within-poll-interval", 10 * time.Second, false, 2},
		{"ok/next-poll", 64 * time.Second, true, 3},
	}
	for _, st := range steps {
		fail.Store(st.fail)
		s := waitSnapshot(t, ch, clk.Add(st.advance))
		if got := calls.Load(); got != st.wantCalls {
			t.Fatalf("%s: offset measured %d times, want %d", st.name, got, st.wantCalls)
		}
		if err := clock.Verify(&s, a.PublicKey()); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		// A failed measurement keeps the last good sample.
		if s.Stratum != 3 || s.EstimatedOffsetMs != 1500 {
			t.Fatalf("%s: snapshot %+v lost the sample", st.name, s)
		}
	}

	t.Run("ok/failing-offset-means-stratum-16", func(t *testing.T) {
		b, err := newLocal(t, t.TempDir(), func(c *LocalConfig) {
			c.Offset = func(context.Context) (OffsetSample, error) { return OffsetSample{}, ErrNTP }
		})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := b.Current()
		if doc.Stratum != 16 || doc.EstimatedOffsetMs != 0 || doc.RoundTripMs != 0 {
			t.Fatalf("snapshot %+v, want stratum 16 and no offset", doc.Snapshot)
		}
	})
}

func TestLocalRunStopsOnCancel(t *testing.T) {
	a, err := newLocal(t, t.TempDir(), func(c *LocalConfig) { c.MaxAge = 400 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for a.Tracker().Status().Updates < 3 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not refresh the snapshot")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
