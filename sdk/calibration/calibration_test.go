package calibration

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
