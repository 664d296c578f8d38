package calibration

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aunsorm/aunsorm/sdk/clock"
)

func TestMiddleware(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	tr := clock.NewTracker(key.Public().(ed25519.PublicKey), 5*time.Second, clock.WithNow(func() time.Time { return now }))
	var sawTime time.Time
	h := Middleware(tr, Options{Exempt: []string{"/health"}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawTime, _ = Now(r.Context())
		w.WriteHeader(204)
	}))
	do := func(path string) (*httptest.ResponseRecorder, map[string]string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec, body
	}
	sign := func(k ed25519.PrivateKey, at time.Time) clock.Snapshot {
		s, err := clock.Sign(clock.Snapshot{AuthorityID: "t", UnixTimeMs: at.UnixMilli()}, k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("fail/no-snapshot", func(t *testing.T) {
		rec, body := do("/x")
		if rec.Code != 503 || body["error"] != CodeStale || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("got %d %v", rec.Code, body)
		}
	})
	t.Run("ok/exempt-while-stale", func(t *testing.T) {
		if rec, _ := do("/health"); rec.Code != 204 {
			t.Fatalf("got %d", rec.Code)
		}
	})
	t.Run("ok/fresh", func(t *testing.T) {
		if err := tr.Update(sign(key, now)); err != nil {
			t.Fatal(err)
		}
		rec, _ := do("/x")
		if rec.Code != 204 || rec.Header().Get(HeaderAttestedTime) == "" || rec.Header().Get(HeaderAttestationAge) != "0" {
			t.Fatalf("got %d %v", rec.Code, rec.Header())
		}
		if sawTime.UnixMilli() != now.UnixMilli() {
			t.Fatalf("attested time in context = %v", sawTime)
		}
	})
	t.Run("fail/stale", func(t *testing.T) {
		now = now.Add(6 * time.Second)
		rec, body := do("/x")
		if rec.Code != 503 || body["error"] != CodeStale || rec.Header().Get(HeaderAttestationAge) != "6000" {
			t.Fatalf("got %d %v %v", rec.Code, body, rec.Header())
		}
	})
	t.Run("fail/untrusted", func(t *testing.T) {
		_ = tr.Update(sign(other, now))
		rec, body := do("/x")
		if rec.Code != 503 || body["error"] != CodeUntrusted {
			t.Fatalf("got %d %v", rec.Code, body)
		}
	})
	t.Run("ok/recovers", func(t *testing.T) {
		if err := tr.Update(sign(key, now)); err != nil {
			t.Fatal(err)
		}
		if rec, _ := do("/x"); rec.Code != 204 {
			t.Fatalf("got %d", rec.Code)
		}
	})
}

func TestForwardedTime(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	local := time.UnixMilli(1_700_000_000_000)
	tr := clock.NewTracker(key.Public().(ed25519.PublicKey), 10*time.Second, clock.WithNow(func() time.Time { return local }))
	snap, err := clock.Sign(clock.Snapshot{AuthorityID: "t", UnixTimeMs: local.UnixMilli()}, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Update(snap); err != nil {
		t.Fatal(err)
	}
	s := local.UnixMilli()
	var saw time.Time
	serve := func(opts Options, values ...string) (*httptest.ResponseRecorder, http.Header) {
		var seen http.Header
		h := Middleware(tr, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			saw, _ = Now(r.Context())
			seen = r.Header.Clone()
		}))
		req := httptest.NewRequest("GET", "/x", nil)
		for _, v := range values {
			req.Header.Add(HeaderForwardedTime, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec, seen
	}
	itoa := func(ms int64) string { return strconv.FormatInt(ms, 10) }
	tests := []struct {
		name   string
		opts   Options
		values []string
		want   int64
	}{
		{"ok/forwarded", Options{TrustForwarded: true}, []string{itoa(s + 1234)}, s + 1234},
		{"ok/previous-snapshot", Options{TrustForwarded: true}, []string{itoa(s - 10_000)}, s - 10_000},
		{"ok/at-expiry", Options{TrustForwarded: true}, []string{itoa(s + 10_000)}, s + 10_000},
		{"fail/untrusted", Options{}, []string{itoa(s + 1234)}, s},
		{"fail/too-old", Options{TrustForwarded: true}, []string{itoa(s - 10_001)}, s},
		{"fail/beyond-expiry", Options{TrustForwarded: true}, []string{itoa(s + 10_001)}, s},
		{"fail/two-values", Options{TrustForwarded: true}, []string{itoa(s + 1), itoa(s + 2)}, s},
		{"fail/sign", Options{TrustForwarded: true}, []string{"+" + itoa(s+1)}, s},
		{"fail/not-a-number", Options{TrustForwarded: true}, []string{"soon"}, s},
		{"fail/empty", Options{TrustForwarded: true}, []string{""}, s},
		{"fail/overflow", Options{TrustForwarded: true}, []string{"99999999999999999999"}, s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, seen := serve(tt.opts, tt.values...)
			if saw.UnixMilli() != tt.want {
				t.Fatalf("Now = %d, want %d", saw.UnixMilli(), tt.want)
			}
			if got := rec.Header().Get(HeaderAttestedTime); got != itoa(tt.want) {
				t.Fatalf("%s = %s, want %d", HeaderAttestedTime, got, tt.want)
			}
			if _, kept := seen[HeaderForwardedTime]; kept == tt.opts.TrustForwarded {
				t.Fatalf("header kept for the handler: %v (trusting: %v)", kept, tt.opts.TrustForwarded)
			}
		})
	}
	t.Run("fail/stale", func(t *testing.T) {
		st := tr.Status()
		st.Fresh = false
		if _, ok := ForwardedTime([]string{itoa(s)}, st); ok {
			t.Fatal("a forwarded time accepted without a fresh snapshot")
		}
	})
}

// FuzzForwardedTime: any header value is accepted only as a time within
// the snapshot's validity, and never panics.
func FuzzForwardedTime(f *testing.F) {
	for _, s := range []string{"1700000000000", "", "-1", "+5", "1e3", "99999999999999999999", " 1700000000000"} {
		f.Add(s)
	}
	st := clock.Status{Fresh: true, Snapshot: clock.Snapshot{UnixTimeMs: 1_700_000_000_000}, MaxAge: 30 * time.Second}
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := ForwardedTime([]string{v}, st)
		if !ok {
			return
		}
		ms := got.UnixMilli()
		if ms < st.Snapshot.UnixTimeMs-30_000 || ms > st.Snapshot.UnixTimeMs+30_000 || strconv.FormatInt(ms, 10) != strings.TrimLeft(v, "0") && v != "0" {
			t.Fatalf("accepted %q as %d", v, ms)
		}
	})
}
