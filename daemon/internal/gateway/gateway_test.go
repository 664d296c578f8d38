package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/daemon/internal/attest"
	"github.com/aunsorm/aunsorm/daemon/internal/config"
	"github.com/aunsorm/aunsorm/daemon/internal/host"
	"github.com/aunsorm/aunsorm/daemon/internal/supervisor"
	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/rng"
)

// fakeRNG reports fixed DRBG statistics.
type fakeRNG struct{ st rng.Stats }

func (f fakeRNG) Stats() rng.Stats { return f.st }

var _ RNGStatus = fakeRNG{}

// chainOpts varies the full-chain gateway.
type chainOpts struct {
	authID    string        // default "gw-test"; an invalid id means no snapshot at all
	snapAge   time.Duration // how old the authority's clock is (stale when > maxAge)
	rngSick   bool
	rateLimit config.RateLimit
	storage   StoragePinger // nil: no storage check
	rand      io.Reader     // the gateway's DRBG; default crypto/rand
}

// fakeStorage answers Ping with err.
type fakeStorage struct{ err error }

func (f fakeStorage) Ping(context.Context) error { return f.err }

var _ StoragePinger = fakeStorage{}

// newChain builds a real gateway over a supervisor with no plugins.
func newChain(t *testing.T, o chainOpts) (*Gateway, *attest.Authority) {
	t.Helper()
	if o.authID == "" {
		o.authID = "gw-test"
	}
	lc := attest.LocalConfig{Dir: t.TempDir(), ID: o.authID, MaxAge: time.Minute, Rand: rand.Reader}
	if o.snapAge > 0 {
		lc.Now = func() time.Time { return time.Now().Add(-o.snapAge) }
	}
	auth, err := attest.NewLocal(zerolog.Nop(), lc)
	if err != nil {
		t.Fatal(err)
	}
	sup := supervisor.New(supervisor.Options{DataDir: t.TempDir(), ClockKey: auth.PublicKey(),
		Services: host.New(host.Services{Rand: rand.Reader, Authority: auth, Log: zerolog.Nop()}), Log: zerolog.Nop()})
	if err := sup.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Shutdown(context.Background()) })
	if o.rand == nil {
		o.rand = rand.Reader
	}
	g := New(Options{
		Config: config.Gateway{MaxBodyBytes: 1024, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
			IdleTimeout: 5 * time.Second, UpstreamTimeout: time.Second, RateLimit: o.rateLimit},
		Supervisor: sup, Authority: auth,
		RNG: fakeRNG{rng.Stats{Healthy: !o.rngSick, Reseeds: 4}}, Rand: o.rand, Log: zerolog.Nop(),
		Storage: o.storage,
	})
	return g, auth
}

func serve(g *Gateway, method, path string, body io.Reader) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, body)
	g.Handler().ServeHTTP(rec, req)
	return rec
}

// healthBody is GET /health as a client reads it.
type healthBody struct {
	Status  string   `json:"status"`
	Reasons []string `json:"reasons"`
	Clock   struct {
		Status         string `json:"status"`
		AgeMs          *int64 `json:"age_ms"`
		MaxMs          int64  `json:"max_ms"`
		Authority      string `json:"authority_id"`
		Fingerprint    string `json:"authority_fingerprint_hex"`
		AttestedUnixMs int64  `json:"attested_unix_ms"`
		RefreshEnabled bool   `json:"refresh_enabled"`
		Error          string `json:"error"`
	} `json:"clock"`
	RNG struct {
		Status         string  `json:"status"`
		Reseeds        uint64  `json:"reseeds"`
		ReseedFailures *uint64 `json:"reseed_failures"`
	} `json:"rng"`
	Plugins map[string]string `json:"plugins"`
	Storage string            `json:"storage"`
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		opts       chainOpts
		status     int
		clockState string
		clockErr   string
		rngState   string
	}{
		{"ok/all-healthy", chainOpts{}, 200, "ok", "", "ok"},
		{"fail/clock-stale", chainOpts{snapAge: time.Hour}, 503, "stale", calibration.CodeStale, "ok"},
		{"fail/no-snapshot", chainOpts{authID: "bad id"}, 503, "stale", calibration.CodeStale, "ok"},
		{"fail/rng-unhealthy", chainOpts{rngSick: true}, 503, "ok", "", "failing"},
		{"ok/storage-up", chainOpts{storage: fakeStorage{}}, 200, "ok", "", "ok"},
		{"fail/storage-down", chainOpts{storage: fakeStorage{errors.New("connection refused")}}, 503, "ok", "", "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, auth := newChain(t, tc.opts)
			rec := serve(g, http.MethodGet, "/health", nil)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var h healthBody
			if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
				t.Fatal(err)
			}
			if h.Clock.Status != tc.clockState || h.Clock.Error != tc.clockErr || h.RNG.Status != tc.rngState {
				t.Fatalf("health %+v", h)
			}
			if h.Clock.AgeMs == nil || h.Clock.MaxMs != 60000 || !h.Clock.RefreshEnabled || h.Plugins == nil || h.RNG.Reseeds != 4 ||
				h.RNG.ReseedFailures == nil {
				t.Fatalf("health fields %+v", h)
			}
			if tc.status == 200 {
				if h.Status != "ok" || len(h.Reasons) != 0 || h.Clock.Authority != "gw-test" ||
					h.Clock.Fingerprint != clock.Fingerprint(auth.PublicKey()) || h.Clock.AttestedUnixMs == 0 {
					t.Fatalf("healthy report %+v", h)
				}
				if rec.Header().Get(calibration.HeaderAttestedTime) == "" || rec.Header().Get(calibration.HeaderAttestationAge) == "" {
					t.Fatalf("attestation headers missing: %v", rec.Header())
				}
			} else if h.Status != "failing" || len(h.Reasons) == 0 {
				t.Fatalf("failing report without reasons: %+v", h)
			}
			wantStorage := map[bool]string{true: "", false: "ok"}[tc.opts.storage == nil]
			if fs, ok := tc.opts.storage.(fakeStorage); ok && fs.err != nil {
				wantStorage = StorageUnavailable
			}
			if h.Storage != wantStorage {
				t.Errorf("storage = %q, want %q", h.Storage, wantStorage)
			}
			if rec.Header().Get(apierror.RequestIDHeader) == "" {
				t.Fatal("no request id")
			}
		})
	}
}

func TestGatewayRoutes(t *testing.T) {
	fresh, _ := newChain(t, chainOpts{})
	stale, _ := newChain(t, chainOpts{snapAge: time.Hour})
	empty, _ := newChain(t, chainOpts{authID: "bad id"})
	tests := []struct {
		name         string
		g            *Gateway
		method, path string
		status       int
		code         string // JSON error code; "" for a document
	}{
		{"ok/attestation", fresh, http.MethodGet, "/clock/attestation", 200, ""},
		{"ok/attestation-head", fresh, http.MethodHead, "/clock/attestation", 200, ""},
		{"ok/attestation-served-while-stale", stale, http.MethodGet, "/clock/attestation", 200, ""},
		{"fail/unknown-route", fresh, http.MethodGet, "/nope", 404, "not_found"},
		{"fail/unknown-nested-route", fresh, http.MethodPost, "/crypto/hash", 404, "not_found"},
		{"fail/post-health", fresh, http.MethodPost, "/health", 405, "method_not_allowed"},
		{"fail/stale-fails-closed", stale, http.MethodGet, "/nope", 503, calibration.CodeStale},
		{"fail/stale-fails-closed-for-plugin-paths", stale, http.MethodPost, "/crypto/hash", 503, calibration.CodeStale},
		{"fail/no-snapshot-attestation", empty, http.MethodGet, "/clock/attestation", 503, calibration.CodeStale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(tc.g, tc.method, tc.path, strings.NewReader("{}"))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Fatalf("405 with Allow %q", rec.Header().Get("Allow"))
			}
			if tc.code == "" {
				var doc attest.Document
				if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
					t.Fatal(err)
				}
				if doc.AuthorityPublicKey == "" || clock.Verify(&doc.Snapshot, tc.g.opts.Authority.PublicKey()) != nil {
					t.Fatalf("attestation document does not verify: %s", rec.Body)
				}
				return
			}
			e := decodeError(t, rec)
			if e.Code != tc.code || e.RequestID != rec.Header().Get(apierror.RequestIDHeader) || e.RequestID == "" {
				t.Fatalf("error %+v (request id header %q)", e, rec.Header().Get(apierror.RequestIDHeader))
			}
			if tc.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
		})
	}
}

func TestGatewayRateLimitInChain(t *testing.T) {
	g, _ := newChain(t, chainOpts{rateLimit: config.RateLimit{Enabled: true, RequestsPerSecond: 0.001, Burst: 2}})
	for i, want := range []int{200, 200, 429} {
		if rec := serve(g, http.MethodGet, "/health", nil); rec.Code != want {
			t.Fatalf("request %d: status %d, want %d", i+1, rec.Code, want)
		}
	}
}

func TestGatewayServe(t *testing.T) {
	tests := []struct {
		name string
		tls  bool
	}{
		{"ok/plain-http", false},
		{"ok/dev-tls", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newChain(t, chainOpts{})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Timeout: 10 * time.Second}
			scheme := "http"
			var tlsCfg *tls.Config
			if tc.tls {
				dir := t.TempDir()
				tlsCfg = devTLS(t, dir, time.Now())
				pool, _ := caPool(t, dir)
				client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
				scheme = "https"
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- g.Serve(ctx, ln, tlsCfg) }()
			resp, err := client.Get(scheme + "://" + ln.Addr().String() + "/health")
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			client.CloseIdleConnections()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Serve = %v after shutdown, want nil", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("Serve did not return after cancel")
			}
		})
	}
}
