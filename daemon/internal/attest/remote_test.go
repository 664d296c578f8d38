package attest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/clock"
)

// Ways the fake attestor answers.
const (
	serveOK          = iota // a fresh document signed by the pinned key
	serveUnavailable        // 503
	serveOversize           // a valid document padded past 16 KiB
	serveWrongKey           // a document of another authority
	serveBadSig             // the pinned key, a broken signature
	serveOtherSigner        // the pinned key's SPKI, signed by another key
	serveMalformed          // not JSON
	serveNotBase64          // the key field is not base64
	serveNotEd25519         // an ECDSA SPKI (pinned by its hash)
	serveExact              // a valid document padded to exactly 16 KiB
)

// attestor is a fake remote authority.
type attestor struct {
	key, other ed25519.PrivateKey
	ecSPKI     []byte
	mode       atomic.Int32
	requests   atomic.Int32
	failFirst  atomic.Int32 // answer 503 to this many requests first
	srv        *httptest.Server
}

func newAttestor(t *testing.T) *attestor {
	t.Helper()
	a := &attestor{}
	var err error
	if _, a.key, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, a.other, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if a.ecSPKI, err = x509.MarshalPKIXPublicKey(&ec.PublicKey); err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *attestor) pub() ed25519.PublicKey { return a.key.Public().(ed25519.PublicKey) }

// pin is the fingerprint the daemon is configured with.
func (a *attestor) pin() string { return clock.Fingerprint(a.pub()) }

// document builds the body for mode.
func (a *attestor) document(mode int32) []byte {
	sign := func(k ed25519.PrivateKey) clock.Snapshot {
		s, _ := clock.Sign(clock.Snapshot{AuthorityID: "remote-test", UnixTimeMs: time.Now().UnixMilli(), Stratum: 2}, k)
		return s
	}
	doc := Document{Snapshot: sign(a.key), AuthorityPublicKey: spkiB64(a.pub())}
	switch mode {
	case serveMalformed:
		return []byte(`{"authority_id":`)
	case serveWrongKey:
		doc = Document{Snapshot: sign(a.other), AuthorityPublicKey: spkiB64(a.other.Public().(ed25519.PublicKey))}
	case serveBadSig:
		sig, _ := base64.StdEncoding.DecodeString(doc.SignatureB64)
		sig[0] ^= 1
		doc.SignatureB64 = base64.StdEncoding.EncodeToString(sig)
	case serveOtherSigner:
		doc.Snapshot = sign(a.other)
	case serveNotBase64:
		doc.AuthorityPublicKey = "!!not base64!!"
	case serveNotEd25519:
		doc.AuthorityPublicKey = base64.StdEncoding.EncodeToString(a.ecSPKI)
	}
	body, _ := json.Marshal(doc)
	switch mode {
	case serveOversize:
		body = append(body, bytes.Repeat([]byte(" "), maxDocumentBytes+1-len(body))...)
	case serveExact:
		body = append(body, bytes.Repeat([]byte(" "), maxDocumentBytes-len(body))...)
	}
	return body
}

func (a *attestor) serve(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	mode := a.mode.Load()
	if a.failFirst.Add(-1) >= 0 {
		mode = serveUnavailable
	}
	if mode == serveUnavailable {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.document(mode))
}

func (a *attestor) config() RemoteConfig {
	return RemoteConfig{URL: a.srv.URL + "/clock/attestation", Fingerprint: a.pin(), MaxAge: time.Minute,
		Client: a.srv.Client(), StartupWait: time.Nanosecond}
}

func TestNewRemoteConfig(t *testing.T) {
	att := newAttestor(t)
	tests := []struct {
		name   string
		mutate func(*RemoteConfig)
		ok     bool
	}{
		{"ok/good-server", func(*RemoteConfig) {}, true},
		{"ok/uppercase-pin", func(c *RemoteConfig) { c.Fingerprint = strings.ToUpper(c.Fingerprint) }, true},
		{"fail/http-url", func(c *RemoteConfig) { c.URL = strings.Replace(c.URL, "https://", "http://", 1) }, false},
		{"fail/no-scheme", func(c *RemoteConfig) { c.URL = strings.TrimPrefix(c.URL, "https://") }, false},
		{"fail/no-host", func(c *RemoteConfig) { c.URL = "https:///clock/attestation" }, false},
		{"fail/unparsable-url", func(c *RemoteConfig) { c.URL = "https://[::1" }, false},
		{"fail/empty-pin", func(c *RemoteConfig) { c.Fingerprint = "" }, false},
		{"fail/short-pin", func(c *RemoteConfig) { c.Fingerprint = c.Fingerprint[:62] }, false},
		{"fail/long-pin", func(c *RemoteConfig) { c.Fingerprint += "00" }, false},
		{"fail/non-hex-pin", func(c *RemoteConfig) { c.Fingerprint = "zz" + c.Fingerprint[2:] }, false},
		{"fail/other-pin", func(c *RemoteConfig) { c.Fingerprint = strings.Repeat("ab", 32) }, false},
		{"fail/untrusted-tls-certificate", func(c *RemoteConfig) { c.Client = nil }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := att.config()
			tc.mutate(&cfg)
			a, err := NewRemote(context.Background(), zerolog.Nop(), cfg)
			if !tc.ok {
				if !errors.Is(err, ErrRemote) {
					t.Fatalf("NewRemote err = %v, want ErrRemote", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !a.PublicKey().Equal(att.pub()) || !a.RefreshEnabled() {
				t.Fatal("remote authority did not learn the pinned key")
			}
			doc, ok := a.Current()
			if !ok || clock.Verify(&doc.Snapshot, att.pub()) != nil || doc.AuthorityID != "remote-test" {
				t.Fatalf("Current = %+v, %v", doc, ok)
			}
			if !a.Tracker().Status().Fresh {
				t.Fatal("tracker not fresh after the first snapshot")
			}
		})
	}
}

func TestRemoteDocuments(t *testing.T) {
	att := newAttestor(t)
	ecSum := sha256.Sum256(att.ecSPKI)
	tests := []struct {
		name string
		mode int32
		pin  string // default att.pin()
		want error  // nil: accepted
	}{
		{"ok/signed-by-pinned-key", serveOK, "", nil},
		{"ok/exactly-16KiB", serveExact, "", nil},
		{"fail/over-16KiB", serveOversize, "", ErrRemote},
		{"fail/status-503", serveUnavailable, "", ErrRemote},
		{"fail/malformed-json", serveMalformed, "", ErrRemote},
		{"fail/pin-mismatch", serveWrongKey, "", clock.ErrUntrusted},
		{"fail/bad-signature", serveBadSig, "", clock.ErrUntrusted},
		{"fail/signed-by-other-key", serveOtherSigner, "", clock.ErrUntrusted},
		{"fail/key-not-base64", serveNotBase64, "", clock.ErrUntrusted},
		{"fail/key-not-ed25519", serveNotEd25519, hex.EncodeToString(ecSum[:]), clock.ErrUntrusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			att.mode.Store(tc.mode)
			pin := tc.pin
			if pin == "" {
				pin = att.pin()
			}
			r := &remote{url: att.srv.URL, pin: pin, client: att.srv.Client()}
			doc, err := r.fetch(context.Background())
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if err := clock.Verify(&doc.Snapshot, att.pub()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("fetch err = %v, want %v", err, tc.want)
			}
			// NewRemote refuses to start on the same answer.
			cfg := att.config()
			cfg.Fingerprint = pin
			if _, err := NewRemote(context.Background(), zerolog.Nop(), cfg); !errors.Is(err, ErrRemote) {
				t.Fatalf("NewRemote err = %v, want ErrRemote", err)
			}
		})
	}
}

func TestNewRemoteStartup(t *testing.T) {
	t.Run("fail/startup-wait-exceeded", func(t *testing.T) {
		att := newAttestor(t)
		att.mode.Store(serveUnavailable)
		cfg := att.config()
		cfg.StartupWait = 300 * time.Millisecond
		_, err := NewRemote(context.Background(), zerolog.Nop(), cfg)
		if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), att.srv.URL) {
			t.Fatalf("err = %v, want ErrRemote naming the URL", err)
		}
		if att.requests.Load() < 1 {
			t.Fatal("the attestor was never asked")
		}
	})
	t.Run("fail/context-cancelled", func(t *testing.T) {
		att := newAttestor(t)
		att.mode.Store(serveUnavailable)
		cfg := att.config()
		cfg.StartupWait = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := NewRemote(ctx, zerolog.Nop(), cfg); !errors.Is(err, ErrRemote) {
			t.Fatalf("err = %v, want ErrRemote", err)
		}
	})
	t.Run("ok/retries-until-trusted", func(t *testing.T) {
		att := newAttestor(t)
		att.failFirst.Store(2)
		cfg := att.config()
		cfg.StartupWait = time.Minute
		a, err := NewRemote(context.Background(), zerolog.Nop(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if n := att.requests.Load(); n != 3 {
			t.Fatalf("%d requests, want 3 (two failures, then success)", n)
		}
		if !a.Tracker().Status().Fresh {
			t.Fatal("not fresh")
		}
	})
}

// waitTracker polls until cond holds for the tracker status.
func waitTracker(t *testing.T, a *Authority, what string, cond func(clock.Status) bool) clock.Status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := a.Tracker().Status()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracker never became %s: %+v", what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRemoteRun(t *testing.T) {
	att := newAttestor(t)
	cfg := att.config()
	cfg.MaxAge = 400 * time.Millisecond // poll every 100 ms
	a, err := NewRemote(context.Background(), zerolog.Nop(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch, cancelSub := a.Subscribe()
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() {
		cancel()
		<-done
	}()

	steps := []struct {
		name string
		mode int32
		cond func(clock.Status) bool
		want error
	}{
		{"ok/keeps-polling", serveOK, func(st clock.Status) bool { return st.Fresh && st.Updates >= 4 }, nil},
		{"fail/server-stops-answering", serveUnavailable, func(st clock.Status) bool { return !st.Fresh && errors.Is(st.Err, clock.ErrStale) }, clock.ErrStale},
		{"ok/recovers", serveOK, func(st clock.Status) bool { return st.Fresh }, nil},
		// Stale, and the reason reported is the untrusted authority.
		{"fail/server-switches-key", serveWrongKey, func(st clock.Status) bool { return !st.Fresh && errors.Is(st.Err, clock.ErrUntrusted) }, clock.ErrUntrusted},
		{"ok/recovers-again", serveOK, func(st clock.Status) bool { return st.Fresh }, nil},
	}
	for _, st := range steps {
		att.mode.Store(st.mode)
		got := waitTracker(t, a, st.name, st.cond)
		if st.want != nil && !errors.Is(got.Err, st.want) {
			t.Fatalf("%s: status err %v, want %v", st.name, got.Err, st.want)
		}
	}
	// Subscribers saw the polled snapshots, every one trusted.
	s := recv(t, ch)
	if err := clock.Verify(&s, att.pub()); err != nil {
		t.Fatal(err)
	}
}
