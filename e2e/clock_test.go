package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// attestor is a remote clock authority under the test's control.
type attestor struct {
	key, forger ed25519.PrivateKey
	mode        atomic.Int32 // 0 serve, 1 stop answering, 2 serve forged snapshots
	srv         *httptest.Server
}

func newAttestor(t *testing.T) *attestor {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	a := &attestor{key: key, forger: forger}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func spki(pub ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return der
}

func (a *attestor) fingerprint() string {
	sum := sha256.Sum256(spki(a.key.Public().(ed25519.PublicKey)))
	return hex.EncodeToString(sum[:])
}

// serve signs a snapshot of now with the canonical encoding from
// docs/clock-attestation.md, written independently of the daemon's code.
func (a *attestor) serve(w http.ResponseWriter, r *http.Request) {
	key := a.key
	switch a.mode.Load() {
	case 1:
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	case 2:
		key = a.forger
	}
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(spki(pub))
	fp := hex.EncodeToString(sum[:])
	now := time.Now().UnixMilli()
	msg := "aunsorm-clock-attestation-v1\nauthority_id=test-attestor\nauthority_fingerprint_hex=" + fp +
		"\nunix_time_ms=" + strconv.FormatInt(now, 10) + "\nstratum=2\nround_trip_ms=1\ndispersion_ms=1\nestimated_offset_ms=0\n"
	doc := map[string]any{
		"authority_id": "test-attestor", "authority_fingerprint_hex": fp, "unix_time_ms": now,
		"stratum": 2, "round_trip_ms": 1, "dispersion_ms": 1, "estimated_offset_ms": 0,
		"signature_b64":                 base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(msg))),
		"authority_public_key_spki_b64": base64.StdEncoding.EncodeToString(spki(pub)),
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func TestRemoteClockFailsClosedAndRecovers(t *testing.T) {
	a := newAttestor(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw}), 0o600))
	d := startDaemon(t, daemonOpts{
		Plugins: map[string]string{"crypto": ""},
		Clock: `source = "remote"
  max_age = "2s"
  refresh_url = "` + a.srv.URL + `/clock"
  authority_fingerprint = "` + a.fingerprint() + `"`,
		Env: []string{"SSL_CERT_FILE=" + caFile},
	})
	probe := func() response { return do(t, "GET", d.url+"/crypto/random?bytes=8", nil) }
	direct := func() response { return do(t, "GET", "http://"+d.ports["crypto"]+"/crypto/random?bytes=8", nil) }
	if r := probe(); r.status != 200 {
		t.Fatalf("fresh: %d %s", r.status, r.body)
	}
	// waitFor polls until cond holds, failing after limit.
	waitFor := func(what string, limit time.Duration, cond func() bool) time.Duration {
		start := time.Now()
		for time.Since(start) < limit {
			if cond() {
				return time.Since(start)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: not within %s", what, limit)
		return 0
	}

	t.Run("fail/attestor-down", func(t *testing.T) {
		a.mode.Store(1)
		took := waitFor("gateway fails closed", patience, func() bool { return probe().status == 503 })
		t.Logf("failed closed %s after the attestor stopped (max_age 2s)", took)
		wantError(t, probe(), 503, "stale_attestation")
		wantError(t, direct(), 503, "stale_attestation") // the plugin fails closed on its own too
		h := do(t, "GET", d.url+"/health", nil)
		if h.status != 503 || h.json["clock"].(map[string]any)["status"] != "stale" {
			t.Fatalf("health while stale: %d %s", h.status, h.body)
		}
	})
	t.Run("ok/recovers", func(t *testing.T) {
		a.mode.Store(0)
		waitFor("gateway recovers", patience, func() bool { return probe().status == 200 })
		waitFor("plugin recovers", patience, func() bool { return direct().status == 200 })
		waitFor("health recovers", patience, func() bool { return do(t, "GET", d.url+"/health", nil).status == 200 })
	})
	t.Run("fail/untrusted-authority", func(t *testing.T) {
		a.mode.Store(2)
		waitFor("gateway fails closed", patience, func() bool { return probe().status == 503 })
		wantError(t, probe(), 503, "untrusted_authority")
		a.mode.Store(0)
		waitFor("recovers", patience, func() bool { return probe().status == 200 })
	})
}
