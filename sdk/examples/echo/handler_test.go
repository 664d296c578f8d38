package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/aunsorm/aunsorm/sdk/apierror"
	"github.com/aunsorm/aunsorm/sdk/calibration"
	"github.com/aunsorm/aunsorm/sdk/clock"
	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// fakeAudit records events, or fails when err is set.
type fakeAudit struct {
	mu     sync.Mutex
	events []plugin.AuditEvent
	err    error
}

func (f *fakeAudit) Audit(_ context.Context, ev plugin.AuditEvent) (plugin.AuditReceipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return plugin.AuditReceipt{}, f.err
	}
	f.events = append(f.events, ev)
	return plugin.AuditReceipt{Sequence: uint64(len(f.events))}, nil
}

// counterReader is a deterministic stand-in for the plugin's DRBG.
type counterReader struct{ n byte }

func (c *counterReader) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

// failingReader is a DRBG that refuses to produce output.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("drbg: reseed required") }

// freshTracker holds one snapshot signed just now by a test authority.
func freshTracker(t testing.TB) *clock.Tracker {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	snap, err := clock.Sign(clock.Snapshot{AuthorityID: "test", UnixTimeMs: time.Now().UnixMilli()}, key)
	if err != nil {
		t.Fatal(err)
	}
	tr := clock.NewTracker(key.Public().(ed25519.PublicKey), time.Hour)
	if err := tr.Update(snap); err != nil {
		t.Fatal(err)
	}
	return tr
}

// newTestServer wraps the handler as the SDK does: calibration in front.
func newTestServer(t testing.TB, audit plugin.Auditor, rand *counterReader) http.Handler {
	h := newHandler(config{Greeting: "hi"}, rand, audit, zerolog.Nop())
	return calibration.Middleware(freshTracker(t), calibration.Options{})(h)
}

func TestEcho(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		audit       *fakeAudit
		wantStatus  int
		wantCode    string
	}{
		{"ok/object", "POST", "/echo/", "application/json", `{"a": [1, 2]}`, &fakeAudit{}, 200, ""},
		{"ok/string", "POST", "/echo/", "", `"x"`, &fakeAudit{}, 200, ""},
		{"fail/empty", "POST", "/echo/", "application/json", ``, &fakeAudit{}, 400, "invalid_request"},
		{"fail/malformed", "POST", "/echo/", "application/json", `{"a":`, &fakeAudit{}, 400, "invalid_request"},
		{"fail/too_large", "POST", "/echo/", "application/json", `"` + strings.Repeat("x", maxBody) + `"`, &fakeAudit{}, 413, "request_too_large"},
		{"fail/media_type", "POST", "/echo/", "text/plain", `{}`, &fakeAudit{}, 415, "unsupported_media_type"},
		{"fail/method", "GET", "/echo/", "", ``, &fakeAudit{}, 405, "method_not_allowed"},
		{"fail/not_found", "POST", "/echo/x", "application/json", `{}`, &fakeAudit{}, 404, "not_found"},
		{"fail/audit_down", "POST", "/echo/", "application/json", `{}`, &fakeAudit{err: plugin.ErrUnavailable}, 503, "audit_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, tt.audit, &counterReader{})
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantCode != "" {
				var e apierror.Error
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != tt.wantCode {
					t.Fatalf("body %s, want code %q", rec.Body, tt.wantCode)
				}
				if len(tt.audit.events) != 0 {
					t.Fatalf("a failed request was audited: %+v", tt.audit.events)
				}
				switch tt.wantStatus {
				case http.StatusMethodNotAllowed:
					if rec.Header().Get("Allow") != http.MethodPost || !strings.HasSuffix(e.Description, "allowed: POST") {
						t.Fatalf("405 with Allow %q, %q: both must name POST", rec.Header().Get("Allow"), e.Description)
					}
				case http.StatusNotFound:
					if e.Description != apierror.NoEndpoint().Description {
						t.Fatalf("404 %q is not the platform's one 404", e.Description)
					}
				}
				return
			}
			var r response
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			_ = json.Compact(&want, []byte(tt.body))
			if string(r.Echo) != want.String() || r.Greeting != "hi" || r.ID != "0102030405060708090a0b0c0d0e0f10" {
				t.Fatalf("reply %+v", r)
			}
			if _, err := time.Parse(time.RFC3339Nano, r.AttestedTime); err != nil {
				t.Fatalf("attested_time %q: %v", r.AttestedTime, err)
			}
			if len(tt.audit.events) != 1 || tt.audit.events[0].Subject != r.ID || r.AuditSequence != 1 {
				t.Fatalf("audit %+v", tt.audit.events)
			}
		})
	}
}

func TestEchoFailsClosed(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.Handler
		wantStatus int
		wantCode   string
	}{
		{"fail/no_attested_time", newHandler(config{Greeting: "hi"}, &counterReader{}, &fakeAudit{}, zerolog.Nop()),
			503, calibration.CodeStale},
		{"fail/drbg", calibration.Middleware(freshTracker(t), calibration.Options{})(
			newHandler(config{Greeting: "hi"}, failingReader{}, &fakeAudit{}, zerolog.Nop())), 500, "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, httptest.NewRequest("POST", "/echo/", strings.NewReader(`{}`)))
			var e apierror.Error
			if rec.Code != tt.wantStatus || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Code != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

// FuzzEcho: the request body is untrusted. The handler must never panic,
// answer only 200 or a 4xx in the error shape, and echo exactly the JSON it
// accepted.
func FuzzEcho(f *testing.F) {
	f.Add([]byte(`{"ping": 1}`))
	f.Add([]byte(`[1, "two", null, {"x": {}}]`))
	f.Add([]byte(`"<script>"`))
	f.Add([]byte(``))
	f.Add([]byte(`{`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(`1e999`))
	srv := newTestServer(f, &fakeAudit{}, &counterReader{})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/echo/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			var r response
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatalf("200 with a body that is not JSON: %v", err)
			}
			// The echo is the accepted value, compacted and HTML-escaped
			// as encoding/json writes it.
			var compact, want bytes.Buffer
			if err := json.Compact(&compact, bytes.TrimSpace(body)); err != nil {
				t.Fatalf("accepted %q, which is not one JSON value: %v", body, err)
			}
			json.HTMLEscape(&want, compact.Bytes())
			if !bytes.Equal(r.Echo, want.Bytes()) {
				t.Fatalf("echoed %q for %q", r.Echo, body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			var e apierror.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" {
				t.Fatalf("%d without the error shape: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
