// Package attest is the daemon's clock attestation authority: it signs
// snapshots of local time with an Ed25519 key kept in the data directory
// (local mode) or polls a remote attestor and accepts only snapshots signed
// by the pinned key (remote mode). Accepted snapshots go into a clock.Tracker
// (what the gateway's calibration check reads) and to every subscriber (the
// plugins' WatchAttestation streams).
package attest

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/clock"
)

// Document is the JSON served at GET /clock/attestation and read by remote
// mode: the snapshot fields plus the authority public key (SPKI DER,
// standard base64) whose SHA-256 is the fingerprint operators pin.
type Document struct {
	clock.Snapshot
	AuthorityPublicKey string `json:"authority_public_key_spki_b64"`
}

// Authority is the daemon's source of signed time.
type Authority struct {
	log     zerolog.Logger
	tracker *clock.Tracker
	pub     ed25519.PublicKey
	spki    string // pub as base64 SPKI, for documents

	mu   sync.Mutex
	subs map[chan clock.Snapshot]struct{}
	last clock.Snapshot

	refreshEnabled bool
	maxAge         time.Duration
	refresh        func(ctx context.Context) // one signing or polling round
}

// PublicKey returns the authority public key plugins pin.
func (a *Authority) PublicKey() ed25519.PublicKey { return a.pub }

// Tracker returns the daemon's tracker of accepted snapshots.
func (a *Authority) Tracker() *clock.Tracker { return a.tracker }

// RefreshEnabled reports whether a refresher is running.
func (a *Authority) RefreshEnabled() bool { return a.refreshEnabled }

// Current returns the newest accepted snapshot as a Document.
func (a *Authority) Current() (Document, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last.UnixTimeMs == 0 {
		return Document{}, false
	}
	return Document{Snapshot: a.last, AuthorityPublicKey: a.spki}, true
}

// Run refreshes snapshots every refresh interval until ctx ends.
func (a *Authority) Run(ctx context.Context) {
	t := time.NewTicker(refreshInterval(a.maxAge))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.refresh(ctx)
		}
	}
}

// Subscribe returns a channel receiving every accepted snapshot, starting
// with the current one, and a cancel function. A slow subscriber misses
// intermediate snapshots, never blocks the authority.
func (a *Authority) Subscribe() (<-chan clock.Snapshot, func()) {
	ch := make(chan clock.Snapshot, 1)
	a.mu.Lock()
	a.subs[ch] = struct{}{}
	if a.last.UnixTimeMs != 0 {
		ch <- a.last
	}
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}
}

// accept records s (already verified by the tracker) and fans it out.
func (a *Authority) accept(s clock.Snapshot) error {
	if err := a.tracker.Update(s); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last = s
	for ch := range a.subs {
		select {
		case <-ch: // drop the stale one
		default:
		}
		select {
		case ch <- s:
		default:
		}
	}
	return nil
}

func newAuthority(log zerolog.Logger, pub ed25519.PublicKey, maxAge time.Duration) *Authority {
	return &Authority{
		log:     log.With().Str("component", "attest").Logger(),
		tracker: clock.NewTracker(pub, maxAge),
		pub:     pub,
		spki:    spkiB64(pub),
		maxAge:  maxAge,
		subs:    map[chan clock.Snapshot]struct{}{},
	}
}

func spkiB64(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(der)
}

// refreshInterval is how often snapshots are made or fetched: a quarter of
// the maximum age (well within the ≤ max_age/2 rule, so one lost refresh
// never makes the clock stale), at least every 100 ms.
func refreshInterval(maxAge time.Duration) time.Duration {
	iv := maxAge / 4
	if iv < 100*time.Millisecond {
		iv = 100 * time.Millisecond
	}
	return iv
}
