package attest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/clock"
)

// Remote-mode limits.
const (
	maxDocumentBytes = 16 << 10
	fetchTimeout     = 5 * time.Second
)

// RemoteConfig configures remote mode.
type RemoteConfig struct {
	// URL is the attestor's https:// endpoint serving a Document.
	URL string
	// Fingerprint is the pinned SHA-256 (hex) of the authority's SPKI.
	Fingerprint string
	// MaxAge is the freshness limit.
	MaxAge time.Duration
	// Client overrides the HTTP client (tests); it must verify TLS.
	Client *http.Client
	// StartupWait bounds the wait for a first trusted snapshot (default 10s).
	StartupWait time.Duration
}

// NewRemote fetches a first trusted snapshot (the authority key is learned
// from it and checked against the pin) and returns an Authority that keeps
// polling once Run.
func NewRemote(ctx context.Context, log zerolog.Logger, cfg RemoteConfig) (*Authority, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: refresh_url must be an https:// URL", ErrRemote)
	}
	pin := strings.ToLower(cfg.Fingerprint)
	if b, err := hex.DecodeString(pin); err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("%w: authority fingerprint must be 64 hex characters", ErrRemote)
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout, Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: fetchTimeout,
			MaxIdleConns:        2,
		}}
	}
	if cfg.StartupWait <= 0 {
		cfg.StartupWait = 10 * time.Second
	}
	r := &remote{url: cfg.URL, pin: pin, client: client}

	deadline := time.Now().Add(cfg.StartupWait)
	var first Document
	for {
		first, err = r.fetch(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("%w: no trusted snapshot from %s: %w", ErrRemote, cfg.URL, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	pub, _ := r.key(first)
	a := newAuthority(log, pub, cfg.MaxAge)
	a.refreshEnabled = true
	if err := a.accept(first.Snapshot); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRemote, err)
	}
	a.refresh = func(ctx context.Context) {
		doc, err := r.fetch(ctx)
		if err == nil {
			err = a.accept(doc.Snapshot)
		} else if errors.Is(err, clock.ErrUntrusted) {
			// Let the tracker remember why freshness is being lost.
			_ = a.tracker.Update(doc.Snapshot)
		}
		if err != nil {
			a.log.Warn().Err(err).Str("url", cfg.URL).Msg("clock refresh failed")
		}
	}
	return a, nil
}

type remote struct {
	url    string
	pin    string
	client *http.Client
}

// fetch GETs and verifies one document: size-limited JSON whose key matches
// the pin and whose signature verifies.
func (r *remote) fetch(ctx context.Context) (Document, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return Document{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return Document{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Document{}, fmt.Errorf("%w: status %d", ErrRemote, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return Document{}, err
	}
	if len(body) > maxDocumentBytes {
		return Document{}, fmt.Errorf("%w: document larger than %d bytes", ErrRemote, maxDocumentBytes)
	}
	var doc Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return Document{}, fmt.Errorf("%w: malformed document", ErrRemote)
	}
	pub, err := r.key(doc)
	if err != nil {
		return doc, err
	}
	if err := clock.Verify(&doc.Snapshot, pub); err != nil {
		return doc, err
	}
	return doc, nil
}

// key returns the document's public key if its SPKI hashes to the pin.
func (r *remote) key(doc Document) (ed25519.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(doc.AuthorityPublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: authority key is not base64", clock.ErrUntrusted)
	}
	sum := sha256.Sum256(der)
	if hex.EncodeToString(sum[:]) != r.pin {
		return nil, fmt.Errorf("%w: authority key fingerprint is not the pinned one", clock.ErrUntrusted)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: authority key: %v", clock.ErrUntrusted, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: authority key is not Ed25519", clock.ErrUntrusted)
	}
	return pub, nil
}
