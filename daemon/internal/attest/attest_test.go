package attest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/clock"
)

// testAuthority is an Authority whose key the test holds, so it can feed
// snapshots to accept directly.
func testAuthority(t *testing.T) (*Authority, ed25519.PrivateKey) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newAuthority(zerolog.Nop(), pub, time.Minute), key
}

// signAt signs a snapshot of key at unixMs.
func signAt(t testing.TB, key ed25519.PrivateKey, unixMs int64) clock.Snapshot {
	t.Helper()
	s, err := clock.Sign(clock.Snapshot{AuthorityID: "test", UnixTimeMs: unixMs, Stratum: 16}, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// recv reads one snapshot or fails after a generous deadline.
func recv(t *testing.T, ch <-chan clock.Snapshot) clock.Snapshot {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no snapshot received")
		return clock.Snapshot{}
	}
}

func TestSubscribe(t *testing.T) {
	base := time.Now().UnixMilli()

	t.Run("ok/no-snapshot-yet", func(t *testing.T) {
		a, key := testAuthority(t)
		if _, ok := a.Current(); ok {
			t.Fatal("Current reports a snapshot before any was accepted")
		}
		ch, cancel := a.Subscribe()
		defer cancel()
		select {
		case s := <-ch:
			t.Fatalf("received %+v before any snapshot", s)
		default:
		}
		if err := a.accept(signAt(t, key, base)); err != nil {
			t.Fatal(err)
		}
		if s := recv(t, ch); s.UnixTimeMs != base {
			t.Fatalf("got %d, want %d", s.UnixTimeMs, base)
		}
	})

	t.Run("ok/current-then-new", func(t *testing.T) {
		a, key := testAuthority(t)
		if err := a.accept(signAt(t, key, base)); err != nil {
			t.Fatal(err)
		}
		ch, cancel := a.Subscribe()
		defer cancel()
		if s := recv(t, ch); s.UnixTimeMs != base {
			t.Fatalf("first snapshot %d, want the current %d", s.UnixTimeMs, base)
		}
		for i := int64(1); i <= 3; i++ {
			if err := a.accept(signAt(t, key, base+i)); err != nil {
				t.Fatal(err)
			}
			if s := recv(t, ch); s.UnixTimeMs != base+i {
				t.Fatalf("snapshot %d, want %d", s.UnixTimeMs, base+i)
			}
		}
		doc, ok := a.Current()
		if !ok || doc.UnixTimeMs != base+3 || doc.AuthorityPublicKey == "" {
			t.Fatalf("Current = %+v, %v", doc, ok)
		}
	})

	t.Run("ok/slow-subscriber-never-blocks", func(t *testing.T) {
		a, key := testAuthority(t)
		slow, cancelSlow := a.Subscribe() // never read until the end
		defer cancelSlow()
		fast, cancelFast := a.Subscribe()
		defer cancelFast()
		const n = 100
		snaps := make([]clock.Snapshot, n)
		for i := range snaps {
			snaps[i] = signAt(t, key, base+int64(i))
		}
		done := make(chan error, 1)
		go func() {
			for _, s := range snaps {
				if err := a.accept(s); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("accept blocked on a subscriber that does not read")
		}
		// The slow one finds only the newest snapshot waiting.
		if s := recv(t, slow); s.UnixTimeMs != base+n-1 {
			t.Fatalf("slow subscriber got %d, want the newest %d", s.UnixTimeMs, base+n-1)
		}
		select {
		case s := <-slow:
			t.Fatalf("slow subscriber got a second, stale snapshot %d", s.UnixTimeMs)
		default:
		}
		if s := recv(t, fast); s.UnixTimeMs != base+n-1 {
			t.Fatalf("fast subscriber got %d, want %d", s.UnixTimeMs, base+n-1)
		}
	})

	t.Run("ok/cancel-stops-delivery", func(t *testing.T) {
		a, key := testAuthority(t)
		ch, cancel := a.Subscribe()
		cancel()
		cancel() // idempotent
		if err := a.accept(signAt(t, key, base)); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-ch:
			t.Fatalf("cancelled subscriber received %d", s.UnixTimeMs)
		default:
		}
	})

	t.Run("fail/untrusted-not-fanned-out", func(t *testing.T) {
		a, key := testAuthority(t)
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		if err := a.accept(signAt(t, key, base)); err != nil {
			t.Fatal(err)
		}
		ch, cancel := a.Subscribe()
		defer cancel()
		recv(t, ch)
		tests := []struct {
			name string
			snap clock.Snapshot
			want error
		}{
			{"fail/other-key", signAt(t, other, base+1), clock.ErrUntrusted},
			{"fail/rollback", signAt(t, key, base-1), clock.ErrRollback},
		}
		for _, tc := range tests {
			if err := a.accept(tc.snap); !errors.Is(err, tc.want) {
				t.Fatalf("%s: accept = %v, want %v", tc.name, err, tc.want)
			}
		}
		select {
		case s := <-ch:
			t.Fatalf("refused snapshot %d reached a subscriber", s.UnixTimeMs)
		default:
		}
		if doc, _ := a.Current(); doc.UnixTimeMs != base {
			t.Fatalf("Current moved to a refused snapshot: %d", doc.UnixTimeMs)
		}
	})
}

func TestRefreshInterval(t *testing.T) {
	tests := []struct {
		name   string
		maxAge time.Duration
		want   time.Duration
	}{
		{"ok/quarter", 30 * time.Second, 7500 * time.Millisecond},
		{"ok/floor", 100 * time.Millisecond, 100 * time.Millisecond},
		{"ok/zero", 0, 100 * time.Millisecond},
		{"ok/just-above-floor", 400 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := refreshInterval(tc.maxAge); got != tc.want {
				t.Fatalf("refreshInterval(%v) = %v, want %v", tc.maxAge, got, tc.want)
			}
			if tc.maxAge >= 200*time.Millisecond && refreshInterval(tc.maxAge) > tc.maxAge/2 {
				t.Fatal("refresh slower than max_age/2")
			}
		})
	}
}
