package plugin

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/rng"
)

// freshTracker returns a tracker holding a just-signed snapshot, so the
// calibration layer lets requests through.
func freshTracker(t *testing.T) *clock.Tracker {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := clock.Sign(clock.Snapshot{
		AuthorityID: "test", AuthorityFingerprintHex: clock.Fingerprint(pub), UnixTimeMs: time.Now().UnixMilli(),
	}, priv)
	if err != nil {
		t.Fatal(err)
	}
	tr := clock.NewTracker(pub, time.Minute)
	if err := tr.Update(snap); err != nil {
		t.Fatal(err)
	}
	return tr
}

// The SDK's layers turn a handler's panic into the JSON 500 without the
// panic's text, and let http.ErrAbortHandler through to abort the response.
func TestWrapRecoversPanics(t *testing.T) {
	s := &pluginServer{desc: Descriptor{Name: "t", Version: "1"}, log: zerolog.Nop(), tracker: freshTracker(t)}
	h := s.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("boom: secret detail")
	}))
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set(apierror.RequestIDHeader, "req-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if rec.Code != http.StatusInternalServerError || body.Error != "internal_error" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic value leaked: %q", rec.Body)
	}
	if got := rec.Header().Get(VersionHeader); got != "t/1" {
		t.Fatalf("%s = %q", VersionHeader, got)
	}

	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	req = httptest.NewRequest(http.MethodGet, "/abort", nil)
	req.Header.Set(apierror.RequestIDHeader, "req-2")
	h.ServeHTTP(httptest.NewRecorder(), req)
	t.Fatal("http.ErrAbortHandler was swallowed")
}

// A request without a usable id, when the DRBG cannot draw one, fails
// with 500 and reaches no handler: never an empty id.
func TestWrapFailsWithoutRequestID(t *testing.T) {
	r, err := rng.NewReader(context.Background(), rng.Config{Seed: func(_ context.Context, n int) ([]byte, error) {
		b := make([]byte, n)
		_, err := rand.Read(b)
		return b, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // reads fail from now on
	s := &pluginServer{desc: Descriptor{Name: "t", Version: "1"}, log: zerolog.Nop(), tracker: freshTracker(t), reader: r}
	called := false
	h := s.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set(apierror.RequestIDHeader, "not valid!")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if called || rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, handler called %v; want 500, not called", rec.Code, called)
	}
	if _, ok := rec.Header()[apierror.RequestIDHeader]; ok || strings.Contains(rec.Body.String(), "request_id") {
		t.Fatalf("an id was sent without one drawn: %v %s", rec.Header(), rec.Body)
	}
}

// The SDK's layers never redirect: a path an http.ServeMux would clean
// reaches the plugin's handler as it was sent.
func TestWrapNoRedirect(t *testing.T) {
	s := &pluginServer{desc: Descriptor{Name: "t", Version: "1"}, log: zerolog.Nop(), tracker: freshTracker(t)}
	h := s.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierror.Write(w, r, apierror.NoEndpoint())
	}))
	for _, target := range []string{"//crypto/hash", "/crypto/../health", "/./health", "/crypto/%2e%2e/health"} {
		t.Run("ok/"+target, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header.Set(apierror.RequestIDHeader, "req-1")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" {
				t.Fatalf("%s: status %d, Location %q; want the handler's 404", target, rec.Code, rec.Header().Get("Location"))
			}
		})
	}
}
